// The bounds and faults of /v1/realtime on the real server (tiny checkpoint) with
// small limits from the environment: sessions past max_sessions refused with an
// error event and 1013, idle and total time limits, audio faster than real time
// refused, repeated garbage closing the session, a disconnect freeing the session
// and its turn at once, the API key as a header or as the browser subprotocol,
// metrics, and a server close that finishes the open turn before closing (1001).
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { jfk16k, openRawSession, openSession, toPcm24k, appendAudio, type ServerEvent } from './fixtures/realtime/sdk-session.js';

const KEY = 'sk-test-realtime';
Object.assign(process.env, {
  SGL_OMNI_REALTIME_MAX_SESSIONS: '2',
  SGL_OMNI_REALTIME_IDLE_TIMEOUT_S: '1.5',
  SGL_OMNI_REALTIME_MAX_SESSION_S: '5',
  SGL_OMNI_REALTIME_BURST_S: '12',
  SGL_OMNI_REALTIME_MAX_BAD_EVENTS: '3',
  SGL_OMNI_REALTIME_AUDIO_THREADS: '2', // sessions spread over two audio threads
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realtime-limits-'));
await makeCheckpoint({ size: 'tiny', out: path.join(dir, 'tiny'), seed: 3 });
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
  overrides: [['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'], ['stages.encoder.options.precision', 'fp32'], ['stages.decoder.options.precision', 'fp32']],
});
const pipeline = createPipeline(resolved, { modelPath: path.join(dir, 'tiny'), cacheDir: path.join(dir, 'cache') });
const app = await buildServer({ pipeline, servedModelNames: ['qwen3-asr-tiny'], apiKey: KEY });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
await pipeline.ready();
let closed = false;
t.teardown(async () => {
  if (!closed) await app.close();
  await pipeline.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const ws = base.replace('http', 'ws') + '/v1/realtime?model=qwen3-asr-tiny';
const ofType = (type: string) => (e: ServerEvent) => e.type === type;
const errorCode = (code: string) => (e: ServerEvent) => e.type === 'error' && (e.error as { code: string }).code === code;
const jfkPcm = toPcm24k(jfk16k());

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

/** Resolves once `read()` gives `want`, checking after every event loop turn for up to `ms`. */
async function until(read: () => Promise<number> | number, want: number, ms = 10_000): Promise<number> {
  const end = Date.now() + ms;
  let value = await read();
  while (value !== want && Date.now() < end) {
    await new Promise((resolve) => setImmediate(resolve));
    value = await read();
  }
  return value;
}

t.test('auth: Bearer header or the openai-insecure-api-key subprotocol; none or a wrong key is a 401 before the upgrade', async (t) => {
  const sdk = await openSession(base, { apiKey: KEY });
  await sdk.next(ofType('session.created'));
  sdk.rt.close();
  await sdk.closed;
  const browser = await openRawSession(ws, { protocols: ['realtime', `openai-insecure-api-key.${KEY}`] });
  t.equal(browser.socket.protocol, 'realtime', 'the server answers with the realtime protocol, never the key');
  await browser.next(ofType('session.created'));
  browser.socket.close();
  await browser.closed;
  for (const opts of [{}, { protocols: ['realtime', 'openai-insecure-api-key.wrong'] }, { headers: { authorization: 'Bearer wrong' } }]) {
    t.match(await openRawSession(ws, opts).catch((err: unknown) => err), { status: 401 }, JSON.stringify(opts));
  }
});

const auth = { headers: { authorization: `Bearer ${KEY}` } };

t.test('max_sessions: the next session gets an error event and 1013; a closed session frees its place', async (t) => {
  const a = await openRawSession(ws, auth);
  const b = await openRawSession(ws, auth);
  await Promise.all([a.next(ofType('session.created')), b.next(ofType('session.created'))]);
  t.equal(await metric('sgl_omni_realtime_sessions_open'), 2);
  const c = await openRawSession(ws, auth);
  t.match((await c.next(ofType('error'))).error, { code: 'too_many_sessions', type: 'server_error' });
  t.equal(await c.closed, 1013);
  a.socket.terminate(); // a client that vanishes
  t.equal(await until(() => metric('sgl_omni_realtime_sessions_open'), 1), 1, 'the vanished session is freed');
  const d = await openRawSession(ws, auth);
  await d.next(ofType('session.created'));
  b.socket.close();
  d.socket.close();
  await Promise.all([b.closed, d.closed]);
});

t.test('idle and total time limits close the session with an error event and 1008', async (t) => {
  const idle = await openRawSession(ws, auth);
  t.match((await idle.next(errorCode('idle_timeout'), { timeoutMs: 5000 })).error, { message: /1\.5 s/ });
  t.equal(await idle.closed, 1008);

  const busy = await openRawSession(ws, auth);
  const started = Date.now();
  const keepAlive = setInterval(() => busy.send({ type: 'input_audio_buffer.clear' }), 500);
  t.match((await busy.next(errorCode('session_expired'), { timeoutMs: 10_000 })).error, { message: /5 s limit/ });
  clearInterval(keepAlive);
  t.equal(await busy.closed, 1008);
  t.ok(Date.now() - started >= 4900, 'not before its 5 s');
});

t.test('audio faster than real time past the allowance is refused; the session goes on', async (t) => {
  const s = await openRawSession(ws, auth);
  await s.next(ofType('session.created'));
  s.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null } } } });
  await s.next(ofType('session.updated'));
  s.send({ type: 'input_audio_buffer.append', event_id: 'big', audio: Buffer.alloc(13 * 48_000).toString('base64') });
  t.match((await s.next(ofType('error'))).error, { code: 'input_audio_buffer_rate_exceeded', event_id: 'big', param: 'audio' });
  s.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(48_000).toString('base64') });
  s.send({ type: 'input_audio_buffer.commit' });
  await s.next(ofType('input_audio_buffer.committed'));
  await s.next(ofType('conversation.item.input_audio_transcription.completed'));
  s.socket.close();
  await s.closed;
});

t.test('garbage in a row closes the session (1008); a good event between resets the count', async (t) => {
  const s = await openRawSession(ws, auth);
  await s.next(ofType('session.created'));
  s.socket.send('nope');
  s.socket.send('nope');
  s.send({ type: 'input_audio_buffer.clear' });
  await s.next(ofType('input_audio_buffer.cleared'));
  s.socket.send('nope');
  s.socket.send('{"type": 3}');
  s.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  await s.next(errorCode('too_many_errors'));
  t.equal(s.events.filter(ofType('error')).length, 6, 'five bad events answered, then the closing error');
  t.equal(await s.closed, 1008);
});

t.test('a disconnect mid-turn cancels the turn and frees the session at once', async (t) => {
  const s = await openRawSession(ws, auth);
  await s.next(ofType('session.created'));
  s.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null } } } });
  await s.next(ofType('session.updated'));
  for (let at = 0; at < jfkPcm.length; at += 4800) s.send({ type: 'input_audio_buffer.append', audio: jfkPcm.subarray(at, at + 4800).toString('base64') });
  s.send({ type: 'input_audio_buffer.commit' });
  await s.next(ofType('input_audio_buffer.committed'));
  const cancelledBefore = await metric('sgl_omni_realtime_turns_total{outcome="cancelled"}');
  s.socket.terminate();
  t.equal(await until(() => metric('sgl_omni_realtime_sessions_open'), 0), 0, 'no session open');
  t.equal(await until(() => pipeline.admissionCounts!().running, 0), 0, 'its turn left the pipeline');
  const cancelled = await metric('sgl_omni_realtime_turns_total{outcome="cancelled"}');
  const completed = await metric('sgl_omni_realtime_turns_total{outcome="completed"}');
  t.ok((Number.isNaN(cancelledBefore) ? 0 : cancelledBefore) + 1 === cancelled || completed >= 2, 'the turn was cancelled (or had just completed)');
});

t.test('metrics: sessions, turns and per-turn latency in /metrics', async (t) => {
  t.ok((await metric('sgl_omni_realtime_turns_total{outcome="completed"}')) >= 1);
  t.ok((await metric('sgl_omni_realtime_turn_latency_seconds_count')) >= 1);
  t.ok((await metric('sgl_omni_realtime_first_delta_seconds_count')) >= 1);
  t.ok((await metric('sgl_omni_realtime_sessions_refused_total{reason="max_sessions"}')) >= 1);
});

t.test('server close: the open turn completes, then the session closes with 1001; new sessions are refused', async (t) => {
  const s = await openSession(base, { apiKey: KEY });
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null } } } });
  await s.next(ofType('session.updated'));
  appendAudio(s.rt, jfkPcm);
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const committed = await s.next(ofType('input_audio_buffer.committed'));
  const closing = app.close();
  closed = true;
  t.match(await openRawSession(ws, auth).catch((err: unknown) => err), { status: 503 }, 'no new session once the close began');
  const completed = await s.next(ofType('conversation.item.input_audio_transcription.completed'));
  t.equal(completed.item_id, committed.item_id);
  t.equal(await s.closed, 1001);
  await closing;
});
