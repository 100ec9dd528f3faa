// Alignment beside transcription (issue 14): pipelines/qwen3-asr-aligned.yaml (Qwen3-ASR, then
// Qwen3-ForcedAligner after the decoder) on the real-shape random 0.6B checkpoints (bench cache;
// random weights cost what trained ones do), requests straight into the pipeline.
//  1. Added latency per request: c requests at once (c = 1 and 8), clip-s seconds each, with
//     timestamp_granularities [word] vs without, interleaved rep by rep (the order alternating):
//     min / median of the batch's mean latency, what alignment adds, and the ratio.
//  2. Decoder cadence: one streamed probe request (probe-tokens tokens, no words) while `load`
//     others (tokens each) go through with word granularity vs without. The transcription load
//     is the same both ways; only the alignments differ, so gap ratios near 1 mean alignment does
//     not stall the decoder. The align batches that ran while the probe was decoding are counted
//     (a comparison with none overlapping would say nothing).
// Every timed run under the quiet meter (bench/quiet.ts): disturbed runs are retaken twice, and
// ratios from a run that stayed disturbed are refused with the reason. Forced English (a random
// model would otherwise "detect" any language, Japanese included, which the aligner refuses).
import fs from 'node:fs';
import path from 'node:path';
import type { Override } from '../src/config/document.js';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Payload } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { makeAlignerCheckpoint } from '../stages/qwen3-forced-aligner/checkpoint/make-checkpoint.js';
import { buildWav } from '../test/fixtures/audio/wav-writer.js';
import { benchCacheDir, parseScriptArgs } from './args.js';
import { ensureRandomCheckpoint } from './peer-ours.js';
import { QuietMeter, quietSample, ratioLine, runLine, Series } from './quiet.js';

const USAGE = `Usage: node dist/bench/aligner-beside.js [--size 0.6b|tiny] [--precision int8] [--reps 3] [--levels 1,8]
       [--clip-s 20] [--tokens 32] [--probe-tokens 160] [--load 8] [--cache-dir DIR] [--max-other-cores 0.1]
Latency alignment adds to a transcription (word granularity vs none) and the decoder's step cadence
with and without alignments running beside it. --size tiny: a smoke run on the tiny checkpoints.`;
const { values } = parseScriptArgs(USAGE, {
  options: {
    size: { type: 'string', default: '0.6b' },
    precision: { type: 'string', default: 'int8' },
    reps: { type: 'string', default: '3' },
    levels: { type: 'string', default: '1,8' },
    'clip-s': { type: 'string', default: '20' },
    tokens: { type: 'string', default: '32' },
    'probe-tokens': { type: 'string', default: '160' },
    load: { type: 'string', default: '8' },
    'cache-dir': { type: 'string' },
    'max-other-cores': { type: 'string', default: '0.1' },
  },
});
const size = values.size as '0.6b' | 'tiny';
if (size !== '0.6b' && size !== 'tiny') throw new Error('--size must be 0.6b or tiny');
const reps = Number(values.reps);
const levels = values.levels.split(',').map(Number);
const clipS = Number(values['clip-s']);
const load = Number(values.load);
const cache = benchCacheDir(values['cache-dir']);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
const log = (m: string) => process.stderr.write(`${m}\n`);

console.log(`cache: ${cache}`);
console.log(await meter.banner());
const asrPath = path.join(cache, `qwen3-asr-${size}-random`);
await ensureRandomCheckpoint(size, asrPath, log);
const alignerPath = size === 'tiny' ? path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner/tiny-b/checkpoint') : path.join(cache, 'qwen3-forced-aligner-0.6b-random');
if (!fs.existsSync(path.join(alignerPath, 'config.json'))) {
  log(`writing the 0.6B-shape aligner checkpoint to ${alignerPath}`);
  await makeAlignerCheckpoint({ size: '0.6b', out: alignerPath, seed: 0 });
}
const precision = values.precision;
const overrides: Override[] = [
  ...['encoder', 'decoder', 'align'].map((s): Override => [`stages.${s}.options.precision`, precision]),
  ['stages.align.options.model_path', alignerPath],
  ['admission.max_running', String(Math.max(load + 1, ...levels))],
];
const pipeline = createPipeline(await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr-aligned.yaml'), { overrides }), { modelPath: asrPath, cacheDir: path.join(cache, 'graphs') });
log(`loading ${size} ASR + aligner at ${precision} (a first run converts the graphs)…`);
await pipeline.ready();

const jfk = (await decodeAudio(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')), { maxDurationS: 60 })).channels[0];
const speech = Float32Array.from({ length: Math.round(clipS * 16000) }, (_, i) => jfk[i % jfk.length]);
let uploads = 0;

/** A new request: the clip at a new gain (the encoder's fingerprint cache cannot answer it). */
function request(params: Record<string, unknown>): Payload {
  const gain = 1 - ++uploads / 100000;
  const samples = Float32Array.from(speech, (x) => x * gain);
  const wav = buildWav({ formatTag: 3, channels: 1, sampleRate: 16000, bits: 32, data: new Uint8Array(samples.buffer) });
  const audio = wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength) as ArrayBuffer;
  return { audio, filename: 'clip.wav', contentType: 'audio/wav', params: { temperature: 0, language: 'en', response_format: 'verbose_json', ...params } };
}
const wordParams = (words: boolean, tokens: number) => ({ max_new_tokens: tokens, ...(words ? { timestamp_granularities: ['word'] } : {}) });
const wordsSeen: number[] = [];

async function timedRequest(words: boolean, tokens: number): Promise<number> {
  const t0 = performance.now();
  const out = await pipeline.submit(request(wordParams(words, tokens)));
  if (words) wordsSeen.push(Array.isArray(out.words) ? out.words.length : 0);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * p) - 1)];

/** The decoder's cumulative step counters (it publishes after each request and every second). */
async function decoderSteps(): Promise<{ ms: number; steps: number }> {
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const d = pipeline.stageMetrics?.().decoder ?? {};
  return { ms: Number(d.decode_ms ?? 0), steps: Number(d.decode_steps ?? 0) };
}

/** One cadence run: the probe's delta gaps (ms), the decoder's mean step (ms), and how many align batches overlapped the probe's decoding. */
async function cadence(words: boolean): Promise<{ gaps: number[]; stepMs: number; overlapping: number }> {
  const before = await decoderSteps();
  const gaps: number[] = [];
  const spans: [number, number][] = [];
  const unsubscribe = pipeline.onStageBatch!((b) => {
    if (b.stage === 'align') spans.push([performance.now() - b.seconds * 1000, performance.now()]);
  });
  let first = 0;
  let last = 0;
  let started!: () => void;
  const firstDelta = new Promise<void>((resolve) => { started = resolve; });
  // Sampled (temperature 1, fixed seed): greedy text of random weights repeats, and the stream's
  // repetition cleanup holds repeats back, so a greedy probe sent one delta and no gaps (1 Dec).
  const probe = pipeline.submit(request({ stream: true, temperature: 1, seed: 1, max_new_tokens: Number(values['probe-tokens']) }), {
    onEvent: () => {
      const now = performance.now();
      if (last) gaps.push(now - last);
      else { first = now; started(); }
      last = now;
    },
  });
  // The others start once the probe decodes, so their decoding and their alignments share its steps.
  await firstDelta;
  await Promise.all([probe, ...Array.from({ length: load }, () => timedRequest(words, Number(values.tokens)))]);
  unsubscribe();
  const after = await decoderSteps();
  return { gaps, stepMs: (after.ms - before.ms) / Math.max(1, after.steps - before.steps), overlapping: spans.filter(([s, e]) => s < last && e > first).length };
}

await timedRequest(true, 4); // warm-up: first-run allocations are part of no figure
const started = performance.now();
const whole = await meter.measure(async () => {
  const latency = new Map(levels.flatMap((c) => [false, true].map((w) => [`${c}${w}`, new Series(`c=${c} ${w ? 'word' : 'none'}`)])));
  const cad = new Map([false, true].map((w) => [w, { median: new Series(`median gap ${w ? 'word' : 'none'}`), p95: new Series(`p95 gap ${w ? 'word' : 'none'}`), max: new Series(`max gap ${w ? 'word' : 'none'}`), step: new Series(`decode step ${w ? 'word' : 'none'}`), overlapping: [] as number[] }]));
  for (let r = 0; r < reps; r++) {
    const order = r % 2 ? [true, false] : [false, true];
    for (const c of levels) {
      for (const w of order) {
        const { value, quiet } = await quietSample(meter, async () => (await Promise.all(Array.from({ length: c }, () => timedRequest(w, Number(values.tokens))))), 2, (q) => log(`  retaking c=${c} (others ${q.otherCores.toFixed(2)} cores)`));
        latency.get(`${c}${w}`)!.add(value.reduce((a, x) => a + x, 0) / c, quiet);
      }
    }
    for (const w of order) {
      const { value, quiet } = await quietSample(meter, () => cadence(w), 2);
      const s = cad.get(w)!;
      if (value.gaps.length === 0) log(`  the probe streamed fewer than 2 deltas: no gaps this rep`);
      else {
        s.median.add(median(value.gaps), quiet);
        s.p95.add(pct(value.gaps, 0.95), quiet);
        s.max.add(Math.max(...value.gaps), quiet);
      }
      s.step.add(value.stepMs, quiet);
      s.overlapping.push(value.overlapping);
    }
    log(`rep ${r + 1}/${reps} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  return { latency, cad };
});

const { latency, cad } = whole.value;
console.log(`\n${size} ASR + aligner, ${precision}, ${clipS} s clips, ${values.tokens} tokens each, ${reps} interleaved reps; words per aligned request: median ${median(wordsSeen)}`);
console.log('1. latency per request (ms, mean over the c requests sent at once), min / median:');
for (const c of levels) {
  const none = latency.get(`${c}false`)!;
  const word = latency.get(`${c}true`)!;
  console.log(`   c=${c}: none ${none.describe(0)}; word ${word.describe(0)}; added ${(word.median() - none.median()).toFixed(0)} ms (median)`);
  console.log(`   ${ratioLine(`c=${c} word ÷ none`, word, none, whole.quiet)}`);
}
console.log(`2. decoder cadence: gaps between a streamed probe's deltas (ms) while ${load} requests go through, min / median over reps:`);
for (const w of [false, true]) {
  const s = cad.get(w)!;
  console.log(`   ${w ? 'with alignments' : 'no alignments  '}: median ${s.median.describe(1)}; p95 ${s.p95.describe(1)}; max ${s.max.describe(1)}; decoder step ${s.step.describe(1)}; align batches during the probe: ${s.overlapping.join(', ')}`);
}
for (const k of ['median', 'p95', 'max', 'step'] as const) console.log(`   ${ratioLine(`${k === 'step' ? 'decoder step' : `${k} gap`} with ÷ without alignments`, cad.get(true)![k], cad.get(false)![k], whole.quiet)}`);
console.log(runLine(whole.quiet, meter.maxOtherCores));
await pipeline.close();
