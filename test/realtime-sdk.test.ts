// OpenAI's realtime transcription protocol at /v1/realtime, driven by the official
// `openai` SDK's OpenAIRealtimeWS against the real server over pipelines/qwen3-asr.yaml
// on the tiny checkpoint: session events of both generations, manual commits whose
// transcript equals the pipeline's for the same samples, deltas that concatenate to
// the completed text, server_vad turns found by Silero VAD, and error events for bad
// events without the session closing. A long turn is decoded while it is spoken
// (partials on the real decoder, forcing answer prefixes): deltas arrive before its
// commit and still join to the completed text; a language the model does not take
// is refused at session.update.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { floatWav } from '../src/server/handlers/realtime/turn.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';
import { expandG711 } from '../src/server/handlers/realtime/audio-formats.js';
import { Resampler } from '../stages/audio/resample.js';
import { appendAudio, jfk16k, openRawSession, openSession, serverView, toPcm24k, type ServerEvent } from './fixtures/realtime/sdk-session.js';

// The tests send audio faster than real time; the limit itself is tested in realtime-limits.
process.env.SGL_OMNI_REALTIME_BURST_S = '120';
const server = await startTinyServer();
t.teardown(() => server.close());

const jfk = jfk16k();
const jfkPcm = toPcm24k(jfk);

const ofType = (type: string) => (e: ServerEvent) => e.type === type;

/** Deltas of `item` in order, joined. */
const joinedDeltas = (events: ServerEvent[], item: unknown) =>
  events.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta' && e.item_id === item).map((e) => e.delta as string).join('');

t.test('GA session: session.created, session.update to manual commits, one turn transcribed as the pipeline does', async (t) => {
  const s = await openSession(server.base);
  const created = await s.next(ofType('session.created'));
  t.match(created.session, { object: 'realtime.session', type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 24000 }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }, transcription: { model: 'qwen3-asr-tiny' } } } });
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null, transcription: { model: 'qwen3-asr-tiny', language: 'en' } } } } });
  const updated = await s.next(ofType('session.updated'));
  t.match(updated.session, { type: 'transcription', audio: { input: { turn_detection: null, transcription: { language: 'en' } } } });

  // One append: one partial at most, from the turn's start, which forces nothing; the final decode is the plain one.
  s.rt.send({ type: 'input_audio_buffer.append', audio: jfkPcm.toString('base64') });
  s.rt.send({ type: 'input_audio_buffer.commit', event_id: 'c1' });
  const committed = await s.next(ofType('input_audio_buffer.committed'));
  t.equal(committed.previous_item_id, null);
  const completed = await s.next(ofType('conversation.item.input_audio_transcription.completed'));
  t.equal(completed.item_id, committed.item_id);
  t.match(completed.usage, { type: 'duration' });
  t.ok(Math.abs((completed.usage as { seconds: number }).seconds - 11) < 0.01, 'usage: the turn\'s 11 s');
  // The decoder's deltas for the same samples, submitted straight to the pipeline. (On the random tiny
  // checkpoint the text is a loop the repetition fix trims; the stream holds it back until the end, so
  // it may come as one delta: deltas during a turn are the long-turn test's.)
  let streamed = '';
  const direct = { audio: floatWav(serverView(jfkPcm)), filename: 'x.wav', contentType: 'audio/wav', params: { temperature: 0, stream: true, language: 'en' } };
  await server.pipeline.submit(direct, { onEvent: (e) => void (streamed += (e.delta as string | undefined) ?? '') });
  t.equal(completed.transcript, streamed, 'the text the decoder streams for the same 16 kHz samples');
  t.ok((completed.transcript as string).length > 0);
  t.equal(joinedDeltas(s.events, committed.item_id), completed.transcript, 'deltas concatenated = completed transcript');

  // A second turn follows the first.
  appendAudio(s.rt, jfkPcm.subarray(0, 48_000 * 2));
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const second = await s.next((e) => e.type === 'input_audio_buffer.committed' && e.item_id !== committed.item_id);
  t.equal(second.previous_item_id, committed.item_id);
  const done2 = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === second.item_id);
  t.equal(joinedDeltas(s.events, second.item_id), done2.transcript);
  s.rt.close();
  t.equal(await s.closed, 1000);
});

/** G.711 μ-law encoding of 16-bit samples (ITU-T G.711: bias 0x84, segment, 4 mantissa bits, inverted). */
function ulawEncode(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  let magnitude = Math.min(Math.abs(sample), 32635) + 0x84;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

t.test('G.711 expansion: ITU-T reference values', async (t) => {
  t.same(Array.from(expandG711(Uint8Array.from([0xff, 0x7f, 0x00, 0x80]), 'g711_ulaw')).map((v) => Math.round(v * 32768)), [0, 0, -32124, 32124]);
  t.same(Array.from(expandG711(Uint8Array.from([0xd5, 0x55, 0xaa, 0x2a]), 'g711_alaw')).map((v) => Math.round(v * 32768)), [8, -8, 32256, -32256]);
});

t.test('beta generation: ?intent=transcription, transcription_session.created/updated, G.711 μ-law audio', async (t) => {
  const s = await openRawSession(`${server.base.replace('http', 'ws')}/v1/realtime?intent=transcription`, { headers: { 'OpenAI-Beta': 'realtime=v1' } });
  const created = await s.next(ofType('transcription_session.created'));
  t.match(created.session, { object: 'realtime.transcription_session', input_audio_format: 'pcm16', turn_detection: { type: 'server_vad' } });
  s.send({ type: 'transcription_session.update', session: { input_audio_format: 'g711_ulaw', turn_detection: null, input_audio_transcription: { model: 'qwen3-asr-tiny' } } });
  const updated = await s.next(ofType('transcription_session.updated'));
  t.match(updated.session, { object: 'realtime.transcription_session', input_audio_format: 'g711_ulaw', turn_detection: null });
  // jfk at 8 kHz, μ-law
  const r = new Resampler(16_000, 8_000);
  const at8k = r.push(jfk);
  const ulaw = Buffer.from(Array.from(at8k, (v) => ulawEncode(Math.round(v * 32767))));
  for (let at = 0; at < ulaw.length; at += 800) s.send({ type: 'input_audio_buffer.append', audio: ulaw.subarray(at, at + 800).toString('base64') });
  s.send({ type: 'input_audio_buffer.commit' });
  const committed = await s.next(ofType('input_audio_buffer.committed'));
  await s.next(ofType('conversation.item.created'));
  const completed = await s.next(ofType('conversation.item.input_audio_transcription.completed'));
  t.ok(Math.abs((completed.usage as { seconds: number }).seconds - at8k.length / 8000) < 0.01, 'usage: the 8 kHz audio\'s length');
  t.ok((completed.transcript as string).length > 0);
  t.equal(joinedDeltas(s.events, committed.item_id), completed.transcript, 'deltas concatenated = completed transcript');
  s.socket.close();
  await s.closed;
});

t.test('server_vad: Silero finds each copy of the speech as its own turn, each transcribed', async (t) => {
  const s = await openSession(server.base);
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 1500 } } } } });
  await s.next(ofType('session.updated'));
  const gap = Buffer.alloc(3 * 48_000);
  const audio = Buffer.concat([jfkPcm, gap, jfkPcm, gap]);
  appendAudio(s.rt, audio);
  // both copies' turns end with the 3 s of silence after them
  const copyStarts = [0, (jfk.length / 16_000 + 3) * 1000];
  await s.next((e) => e.type === 'input_audio_buffer.speech_started' && (e.audio_start_ms as number) >= copyStarts[1] - 500);
  const lastStop = await s.next((e) => e.type === 'input_audio_buffer.speech_stopped' && (e.audio_start_ms === undefined) && (e.audio_end_ms as number) > copyStarts[1]);
  const lastItem = lastStop.item_id;
  await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === lastItem);
  const started = s.events.filter(ofType('input_audio_buffer.speech_started'));
  const stopped = s.events.filter(ofType('input_audio_buffer.speech_stopped'));
  t.equal(started.length, stopped.length, 'every start has its stop');
  t.same(started.map((e) => e.item_id), stopped.map((e) => e.item_id), 'a turn keeps its item id from start to stop');
  for (const start of copyStarts) {
    t.ok(started.some((e) => (e.audio_start_ms as number) >= start && (e.audio_start_ms as number) <= start + 400), `a turn starts within 400 ms of the copy at ${start} ms (JFK's first word, less the 300 ms prefix padding)`);
  }
  t.notOk(started.some((e) => (e.audio_start_ms as number) > copyStarts[1] - 3000 + 500 && (e.audio_start_ms as number) < copyStarts[1] - 100), 'no turn in the silence between the copies');
  for (const { item_id } of stopped) {
    const completed = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === item_id);
    t.equal(joinedDeltas(s.events, item_id), completed.transcript, `turn ${item_id}: deltas concatenated = completed transcript`);
  }
  t.comment(`turns: ${started.map((e, i) => `${e.audio_start_ms}-${stopped[i].audio_end_ms} ms`).join(', ')}`);
  s.rt.close();
  await s.closed;
});

t.test('bad events get error events naming the problem; the session stays open and works', async (t) => {
  const s = await openSession(server.base);
  await s.next(ofType('session.created'));
  const raw = (text: string) => s.rt.socket.send(text);
  raw('{not json');
  raw(JSON.stringify({ type: 'response.create', event_id: 'e2' }));
  raw(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'e3', audio: 'not base64!' }));
  raw(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'e4', audio: 'AAAA' })); // 3 bytes: not whole PCM16 samples
  raw(JSON.stringify({ type: 'input_audio_buffer.append', event_id: 'e5', audio: Buffer.alloc(2 ** 20).toString('base64') }));
  raw(JSON.stringify({ type: 'session.update', event_id: 'e6', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'semantic_vad' } } } } }));
  raw(JSON.stringify({ type: 'session.update', event_id: 'e7', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 16000 } } } } }));
  raw(JSON.stringify({ type: 'session.update', event_id: 'e8', session: { type: 'transcription', audio: { input: { transcription: { model: 'whisper-1' } } } } }));
  raw(JSON.stringify({ type: 'session.update', event_id: 'e9', session: { type: 'transcription', bogus: 1 } }));
  // One sample (2 bytes): a small Buffer is a view of Node's 8 KiB pool, which must not travel as the audio (it did: a 0.17 s turn).
  raw(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'AAA=' }));
  raw(JSON.stringify({ type: 'input_audio_buffer.commit', event_id: 'e10' }));
  const errors: ServerEvent[] = [];
  for (let i = 0; i < 10; i++) errors.push(await s.next(ofType('error'), { from: s.events.indexOf(errors[errors.length - 1]) + 1 }));
  const byId = (id: string | null) => errors.find((e) => (e.error as { event_id: string | null }).event_id === id)?.error as Record<string, unknown> | undefined;
  // Neither could be read far enough to know its event_id.
  t.same(errors.filter((e) => (e.error as { event_id: unknown }).event_id === null).map((e) => (e.error as { code: string }).code), ['invalid_json', 'event_too_large']);
  t.match(byId(null), { type: 'invalid_request_error', code: 'invalid_json', message: /not valid JSON/ });
  t.match(byId('e2'), { code: 'invalid_value', param: 'type', message: /response\.create/ });
  t.match(byId('e3'), { code: 'invalid_value', param: 'audio', message: /base64/ });
  t.match(byId('e4'), { code: 'invalid_value', param: 'audio', message: /whole number/ });
  t.match(byId('e6'), { code: 'invalid_value', param: 'session.audio.input.turn_detection.type' });
  t.match(byId('e7'), { param: /session\.audio\.input\.format/ });
  t.match(byId('e8'), { code: 'model_not_found', message: /whisper-1/ });
  t.match(byId('e9'), { code: 'unknown_parameter', param: 'session.bogus' });
  t.match(byId('e10'), { code: 'input_audio_buffer_commit_empty', message: /only has 0ms/ });
  // Still open and working.
  s.rt.send({ type: 'input_audio_buffer.clear' });
  await s.next(ofType('input_audio_buffer.cleared'));
  s.rt.close();
  t.equal(await s.closed, 1000);
});

/** Resolves once the server runs no partial (its gauge in /metrics), checking after every event loop turn. */
async function partialsIdle(): Promise<void> {
  const end = Date.now() + 60_000;
  for (;;) {
    const text = await (await fetch(`${server.base}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('sgl_omni_realtime_partials_running '));
    if (line && Number(line.split(' ').pop()) === 0) return;
    if (Date.now() > end) throw new Error('partials still running after 60 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

t.test('a long turn on the real decoder: deltas arrive before the commit, and join to the completed transcript', async (t) => {
  const s = await openSession(server.base);
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null, transcription: { model: 'qwen3-asr-tiny', language: 'en' } } } } });
  await s.next(ofType('session.updated'));
  // JFK's 11 s as a speaker sends it: each 2.1 s piece is read (session.updated comes from the
  // audio queue) and the partial it caused has ended before the next piece.
  const piece = 2.1 * 48_000;
  for (let at = 0; at < jfkPcm.length; at += piece) {
    appendAudio(s.rt, jfkPcm.subarray(at, at + piece));
    s.rt.send({ type: 'session.update', session: { type: 'transcription' } });
    await s.next(ofType('session.updated'), { from: s.events.length });
    await partialsIdle();
  }
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const committed = await s.next(ofType('input_audio_buffer.committed'));
  const completed = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === committed.item_id);
  const early = s.events.slice(0, s.events.indexOf(committed)).filter((e) => e.type === 'conversation.item.input_audio_transcription.delta' && e.item_id === committed.item_id);
  t.ok(early.length > 0, `${early.length} deltas before the commit (${early.map((e) => (e.delta as string).length).join('+')} characters)`);
  t.equal(joinedDeltas(s.events, committed.item_id), completed.transcript, 'deltas concatenated = completed transcript');
  t.ok((completed.transcript as string).startsWith(early.map((e) => e.delta).join('')), 'the completed text starts with what was sent during the turn');
  s.rt.close();
  await s.closed;
});

t.test("session.update with a language the model does not take: an error naming the param, the session's language unchanged", async (t) => {
  const s = await openSession(server.base);
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', event_id: 'lang', session: { type: 'transcription', audio: { input: { transcription: { language: 'tlh' } } } } });
  const error = await s.next(ofType('error'));
  t.match(error.error, { type: 'invalid_request_error', code: 'invalid_value', param: 'session.audio.input.transcription.language', event_id: 'lang', message: /tlh/ });
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { language: 'fr' } } } } });
  const updated = await s.next(ofType('session.updated'));
  t.match(updated.session, { audio: { input: { transcription: { language: 'fr' } } } }, 'a language it takes is accepted');
  s.rt.close();
  await s.closed;
});

t.test('examples/realtime/node-openai-realtime.mjs: VAD turns and a manual commit, transcripts printed', async (t) => {
  const run = promisify(execFile);
  const example = path.join(repoRoot(), 'examples/realtime/node-openai-realtime.mjs');
  const env = { ...process.env, BASE_URL: server.base, MODEL: 'qwen3-asr-tiny', FAST: '1' };
  const vad = await run('node', [example], { env, timeout: 60_000 });
  const starts = vad.stdout.match(/^\[speech started at \d+ ms\]$/gm) ?? [];
  const turns = vad.stdout.match(/^turn: .*\(\d+\.\d\d s of audio\)$/gm) ?? [];
  t.ok(starts.length >= 1, 'the VAD found speech');
  t.equal(turns.length, starts.length, 'every turn found is printed with its transcript, then the example exits');
  const manual = await run('node', [example, '--manual'], { env, timeout: 60_000 });
  t.match(manual.stdout, /^turn: .*\(11\.00 s of audio\)\n$/, 'one committed turn');
});
