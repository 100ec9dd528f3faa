// /v1/realtime when the server falls behind (load.ts), on the real server with the
// tiny checkpoint: the pipeline's submit is held, as a decoder past capacity would
// hold it, until the test lets it go. Once a committed turn is overdue
// (SGL_OMNI_REALTIME_MAX_TURN_LAG_S, here 0.5 s with TURN_LAG_RTF 0), a new session
// is refused (error server_overloaded, close 1013) and the newest open session is
// shed: told why, its open turn withdrawn (failed with the same error),
// then closed with 1013; the older session keeps its service, and sessions are
// admitted again once the server has caught up. Metrics count both.
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Pipeline } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { jfk16k, openRawSession, toPcm24k, type RawSession, type ServerEvent } from './fixtures/realtime/sdk-session.js';

Object.assign(process.env, {
  SGL_OMNI_REALTIME_MAX_TURN_LAG_S: '0.5',
  SGL_OMNI_REALTIME_TURN_LAG_RTF: '0',
  SGL_OMNI_REALTIME_PARTIAL_INTERVAL_S: '0',
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'realtime-overload-'));
await makeCheckpoint({ size: 'tiny', out: path.join(dir, 'tiny'), seed: 3 });
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
  overrides: [['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'], ['stages.encoder.options.precision', 'fp32'], ['stages.decoder.options.precision', 'fp32']],
});
const pipeline = createPipeline(resolved, { modelPath: path.join(dir, 'tiny'), cacheDir: path.join(dir, 'cache') });

// Requests wait here while `held` is set, as they would behind a decoder with no room.
let held: Promise<void> | undefined;
let release = () => {};
const hold = () => (held = new Promise<void>((resolve) => (release = () => ((held = undefined), resolve()))));
// A request cancelled while held stops waiting, as one waiting for admission does (the pipeline then rejects it).
const cancelled = (signal?: AbortSignal) => new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
const submit = async (...args: Parameters<Pipeline['submit']>) => (await Promise.race([held, cancelled(args[1]?.signal)]), pipeline.submit(...args));
const slow = new Proxy(pipeline, {
  get: (target, key) => (key === 'submit' ? submit : typeof target[key as keyof Pipeline] === 'function' ? (target[key as keyof Pipeline] as () => unknown).bind(target) : target[key as keyof Pipeline]),
});

const app = await buildServer({ pipeline: slow, servedModelNames: ['qwen3-asr-tiny'] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
await pipeline.ready();
t.teardown(async () => {
  await app.close();
  await pipeline.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
const ws = base.replace('http', 'ws') + '/v1/realtime?model=qwen3-asr-tiny';
const ofType = (type: string) => (e: ServerEvent) => e.type === type;
const jfk = toPcm24k(jfk16k()).subarray(0, 48_000 * 3).toString('base64'); // 3 s

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').pop()) : NaN;
}

async function manualSession(): Promise<RawSession> {
  const s = await openRawSession(ws);
  await s.next(ofType('session.created'));
  s.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null } } } });
  await s.next(ofType('session.updated'));
  return s;
}

async function commitTurn(s: RawSession): Promise<ServerEvent> {
  s.send({ type: 'input_audio_buffer.append', audio: jfk });
  s.send({ type: 'input_audio_buffer.commit' });
  return s.next(ofType('input_audio_buffer.committed'));
}

t.test('behind: new sessions refused, the newest shed after its turn; caught up: admitted again', async (t) => {
  const older = await manualSession();
  const newer = await manualSession();
  hold();
  const olderTurn = await commitTurn(older);
  const newerTurn = await commitTurn(newer);

  const shed = await newer.next(ofType('error'), { timeoutMs: 10_000 });
  t.match(shed.error, { type: 'server_error', code: 'server_overloaded', message: /its open turns are withdrawn and it is closed/ }, 'the newest session is told why');
  const refused = await openRawSession(ws);
  t.match((await refused.next(ofType('error'))).error, { type: 'server_error', code: 'server_overloaded' }, 'a new session is refused while a turn is overdue');
  t.equal(await refused.closed, 1013);
  t.notOk(older.events.some((e) => e.type === 'error'), 'the older session is not shed');
  const withdrawn = await newer.next(ofType('conversation.item.input_audio_transcription.failed'));
  t.match(withdrawn, { item_id: newerTurn.item_id, error: { type: 'server_error', code: 'server_overloaded' } }, "the shed session's open turn fails at once, with the reason");
  t.equal(await newer.closed, 1013, 'then it closes: retry later');
  t.notOk(newer.events.some((e) => e.type === 'conversation.item.input_audio_transcription.completed'));

  release();
  const olderDone = await older.next(ofType('conversation.item.input_audio_transcription.completed'));
  t.equal(olderDone.item_id, olderTurn.item_id);
  t.equal(await metric('sgl_omni_realtime_sessions_shed_total'), 1, 'one session shed');
  t.equal(await metric('sgl_omni_realtime_sessions_refused_total{reason="overloaded"}'), 1);

  const again = await manualSession();
  await commitTurn(again);
  await again.next(ofType('conversation.item.input_audio_transcription.completed'));
  t.notOk([...older.events, ...again.events].some((e) => e.type === 'error'), 'caught up: the older session goes on, a new one is admitted');
  for (const s of [older, again]) s.socket.close();
  await Promise.all([older.closed, again.closed]);
});
