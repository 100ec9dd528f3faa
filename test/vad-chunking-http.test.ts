// chunking_strategy on POST /v1/audio/transcriptions through pipelines/qwen3-asr.yaml
// (tiny checkpoint, real Silero VAD): jfk.wav copies joined with known silences and
// noise are segmented at the speech pauses, the gaps are not sent to the decoder,
// verbose_json times stay in the original timeline; the field as "auto", as JSON text
// and as openai-node's chunking_strategy[key] fields; bad values are 400s naming it;
// without it the energy-based split stays.
import t from 'tap';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';
import { jfkSamples, joinWithGaps, RATE, STANDARD_GAPS } from './fixtures/vad/long-audio.js';

const { samples, copies } = joinWithGaps(jfkSamples(), STANDARD_GAPS);
const data = new Int16Array(samples.length);
for (let i = 0; i < samples.length; i++) data[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
const wav = buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(data.buffer) });
const duration = samples.length / RATE;

const server = await startTinyServer();
t.teardown(() => server.close());

async function post(fields: [string, string][]): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([wav.slice()], { type: 'audio/wav' }), 'joined.wav');
  for (const [name, value] of [['response_format', 'verbose_json'], ['language', 'en'], ['max_new_tokens', '4'], ...fields]) form.append(name, value);
  return fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
}
type Segment = { start: number; end: number };
const segmentsOf = async (res: Response) => ((await res.json()) as { segments: Segment[]; duration: number });

t.test('auto: segments only over speech, cut at pauses, original times', async (t) => {
  const res = await post([['chunking_strategy', 'auto']]);
  t.equal(res.status, 200);
  const body = await segmentsOf(res);
  t.equal(body.duration, duration, 'duration is the whole upload');
  const spoken = body.segments.reduce((s, g) => s + g.end - g.start, 0);
  t.comment(`segments ${body.segments.map((s) => `${s.start.toFixed(2)}-${s.end.toFixed(2)}`).join(' ')}; ${(100 * (1 - spoken / duration)).toFixed(1)}% skipped`);
  for (const s of body.segments) {
    // 300 ms prefix padding before a copy's speech, 100 ms tail + Silero's lag (≤ 400 ms) after it
    t.ok(copies.some((c) => s.start >= c.start - 0.01 && s.end <= c.end + 0.5), `segment ${s.start}-${s.end} lies on one copy of the speech`);
  }
  t.ok(spoken <= duration - 9, `the 2-4 s gaps are skipped (${spoken.toFixed(1)} s of ${duration} s sent)`);
  for (const c of copies) t.ok(body.segments.some((s) => Math.abs(s.start - c.start) < 0.4), `a segment starts within 400 ms of the join at ${c.start} s`);
});

t.test('server_vad as openai-node sends it and as JSON text: silence_duration_ms changes the cuts', async (t) => {
  const bracket = await segmentsOf(await post([['chunking_strategy[type]', 'server_vad'], ['chunking_strategy[silence_duration_ms]', '2000']]));
  const json = await segmentsOf(await post([['chunking_strategy', JSON.stringify({ type: 'server_vad', silence_duration_ms: 2000 })]]));
  t.equal(bracket.segments.length, 3, 'one segment per copy: only the joins last 2 s');
  t.same(json.segments, bracket.segments, 'both encodings read alike');
  const long = await segmentsOf(await post([['chunking_strategy', JSON.stringify({ type: 'server_vad', silence_duration_ms: 5000 })]]));
  t.ok(long.segments.length < 3, '5 s of silence never happens here: the copies are not split apart');
});

t.test('bad chunking_strategy: 400 naming the field', async (t) => {
  for (const fields of [
    [['chunking_strategy', 'manual']],
    [['chunking_strategy', '{"type":"server_vad","threshold":2}']],
    [['chunking_strategy', '{"type":"semantic_vad"}']],
    [['chunking_strategy', '{not json']],
    [['chunking_strategy[type]', 'server_vad'], ['chunking_strategy[prefix_padding_ms]', 'lots']],
  ] as [string, string][][]) {
    const res = await post(fields);
    t.equal(res.status, 400, JSON.stringify(fields));
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    t.equal(error.param, 'chunking_strategy', error.message);
  }
});

t.test('without chunking_strategy: the energy split of the whole audio (today\'s default)', async (t) => {
  const body = await segmentsOf(await post([]));
  t.equal(body.segments[0].start, 0);
  t.equal(body.segments[body.segments.length - 1].end, duration, 'the segments cover the whole upload');
});

t.test('auto on audio with no speech: 200 with an empty transcript, not a 500', async (t) => {
  // 5 s of faint noise: Silero finds no speech, so no segment reaches the encoder or decoder.
  const quiet = new Int16Array(5 * RATE);
  let seed = 1;
  for (let i = 0; i < quiet.length; i++) quiet[i] = (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 65) - 32;
  const form = new FormData();
  form.append('file', new Blob([buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(quiet.buffer) }).slice()], { type: 'audio/wav' }), 'quiet.wav');
  for (const [name, value] of [['response_format', 'verbose_json'], ['chunking_strategy', 'auto']]) form.append(name, value);
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(res.status, 200);
  const body = (await res.json()) as { text: string; segments: unknown[]; duration: number };
  t.equal(body.text, '');
  t.same(body.segments, []);
  t.equal(body.duration, 5);
});
