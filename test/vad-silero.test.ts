// Silero VAD stage on real speech (jfk.wav) joined with known silences and noise:
// the regions found fall within a tolerance of the known joins, the gaps are skipped,
// lanes and batching give the regions of a single chain, and chunking_strategy is read as OpenAI defines it.
import path from 'node:path';
import t from 'tap';
import { readPluginDescriptor } from '../src/config/descriptors.js';
import { readFormValue, type FieldSchema } from '../src/server/request-fields.js';
import { repoRoot } from '../src/util/paths.js';
import { defaultModelPath, SileroVad } from '../stages/silero-vad/model.js';
import { readChunkingStrategy, SERVER_VAD_DEFAULTS, speechRegions } from '../stages/silero-vad/regions.js';
import plugin from '../stages/silero-vad/vad-stage.js';
import { jfkSamples, joinWithGaps, RATE, STANDARD_GAPS } from './fixtures/vad/long-audio.js';
import { createDescribedStage } from './fixtures/stages/described-stage.js';

const jfk = jfkSamples();
const { samples, copies } = joinWithGaps(jfk, STANDARD_GAPS);
const unpadded = { ...SERVER_VAD_DEFAULTS, prefix_padding_ms: 0 };
const chain = { laneWindows: 1 << 30, warmupWindows: 0, maxBatch: 16 };

t.test('regions start and end within 400 ms of each known join, none in the silence or noise', async (t) => {
  const vad = await SileroVad.load(defaultModelPath(), 'cpu', 1);
  t.teardown(() => vad.dispose());
  const [probs] = await vad.probabilities([samples], chain);
  const found = speechRegions(probs, samples.length, unpadded);
  for (const [i, copy] of copies.entries()) {
    const inside = found.filter((r) => r.end > copy.start && r.start < copy.end);
    const startMs = (inside[0].start - copy.start) * 1000;
    const endMs = (inside[inside.length - 1].end - copy.end) * 1000;
    t.comment(`copy ${i}: start +${startMs.toFixed(0)} ms, end ${endMs.toFixed(0)} ms from the join`);
    // jfk.wav's first word begins ~0.35 s in and its last ends at the file's end
    t.ok(startMs >= 0 && startMs <= 400, `copy ${i} speech starts ${startMs.toFixed(0)} ms after its join`);
    t.ok(Math.abs(endMs) <= 400, `copy ${i} speech ends ${endMs.toFixed(0)} ms from its join`);
  }
  for (const r of found) t.ok(copies.some((c) => r.start >= c.start - 0.05 && r.end <= c.end + 0.4), `region ${r.start.toFixed(2)}-${r.end.toFixed(2)} lies on a copy`);
  // JFK's own pauses are found too: four phrases per copy
  t.equal(found.length, 4 * copies.length);
  const speechS = found.reduce((s, r) => s + r.end - r.start, 0);
  t.ok(speechS < samples.length / RATE - STANDARD_GAPS.reduce((s, g) => s + g.s, 0), 'the silence and noise are not speech');
});

t.test('lanes of a long stream and a batch of streams give the regions of one chain', async (t) => {
  const vad = await SileroVad.load(defaultModelPath(), 'cpu', 1);
  t.teardown(() => vad.dispose());
  const [alone] = await vad.probabilities([samples], chain);
  const laneOpts = { laneWindows: 300, warmupWindows: 31, maxBatch: 4 };
  const [laned, other] = await vad.probabilities([samples, jfk], laneOpts);
  const [jfkAlone] = await vad.probabilities([jfk], laneOpts);
  const close = (a: { start: number; end: number }[], b: typeof a) =>
    a.length === b.length && a.every((r, i) => Math.abs(r.start - b[i].start) <= 0.1 && Math.abs(r.end - b[i].end) <= 0.1);
  t.ok(close(speechRegions(laned, samples.length, unpadded), speechRegions(alone, samples.length, unpadded)), 'lanes: same regions ±100 ms');
  const diff = Math.max(...other.map((p, i) => Math.abs(p - jfkAlone[i])));
  t.ok(diff < 1e-4, `a stream batched with another gets its own probabilities (state per stream): max |Δ| ${diff.toExponential(1)}`);
});

t.test('chunking_strategy: auto, server_vad with defaults and bounds, wrong values name the field', async (t) => {
  t.equal(readChunkingStrategy(undefined), undefined);
  t.same(readChunkingStrategy('auto'), { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500, normalize: true }, 'auto = the server_vad defaults after loudness normalisation');
  t.same(readChunkingStrategy({ type: 'server_vad', threshold: 0.7 }), { threshold: 0.7, prefix_padding_ms: 300, silence_duration_ms: 500 });
  // The one check of the value is the descriptor's request schema, applied by the handler (RequestFields).
  const schema = readPluginDescriptor(path.join(repoRoot(), 'stages', 'silero-vad', 'vad.plugin.yaml')).request.chunking_strategy as FieldSchema;
  for (const good of ['auto', '{"type":"server_vad"}', '{"type":"server_vad","threshold":0,"prefix_padding_ms":10000,"silence_duration_ms":0}']) {
    t.doesNotThrow(() => readFormValue('chunking_strategy', [good], schema), good);
  }
  for (const bad of ['manual', '{"type":"semantic_vad"}', '{"type":"server_vad","threshold":1.5}', '{"type":"server_vad","silence_duration_ms":-1}', '{"type":"server_vad","prefix_padding_ms":0.5}', '{"type":"server_vad","foo":1}', '{"threshold":0.5}', '{not json']) {
    t.throws(() => readFormValue('chunking_strategy', [bad], schema), { status: 400, param: 'chunking_strategy' } as unknown as Error, bad);
  }
});

t.test('stage: requests without chunking_strategy pass through; others get speech regions, batched', async (t) => {
  const stage = await createDescribedStage(plugin.name);
  t.teardown(() => stage.dispose?.());
  const ctx = (id: string) => ({ id, emit() {}, cancelled: false, onCancel() {} });
  const plain = { samples: jfk, sampleRate: RATE, params: {} };
  const results = await stage.process([
    { payload: plain, ctx: ctx('a') },
    { payload: { samples, sampleRate: RATE, params: { chunking_strategy: 'auto' } }, ctx: ctx('b') },
    { payload: { samples, sampleRate: RATE, params: { chunking_strategy: { type: 'server_vad', silence_duration_ms: 2000 } } }, ctx: ctx('c') },
  ]);
  t.equal(results[0].ok && results[0].payload, plain, 'passed through as is');
  const speech = (i: number) => (results[i].ok ? (results[i] as unknown as { payload: { speech: { start: number }[] } }).payload.speech : []);
  t.equal(speech(1).length, 12, 'auto (500 ms silence ends speech): JFK\'s four phrases per copy');
  t.equal(speech(2).length, 3, 'silence_duration_ms 2000 keeps each copy whole: only the 2-4 s joins end speech');
  t.ok(speech(1)[0].start >= copies[0].start - 0.3 - 0.01, 'padding stays after the 2 s of leading silence minus 300 ms');
});
