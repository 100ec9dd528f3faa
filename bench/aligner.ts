// Qwen3-ForcedAligner costs and errors, measured side by side.
//  1. Quantisation error on the golden sets (test/fixtures/golden/qwen3-forced-aligner/*, the
//     official aligner in float64): slot logits max |Δ| / max |golden|, slot classes equal to the
//     golden argmax, word times max |Δ|. fp32 is what the golden test asserts.
//  2. At the real 0.6B shape (random weights cost what trained ones do; the checkpoint and graphs
//     are kept in the bench cache): int8/int4 against fp32 on the bench clips (slot logits, slot
//     classes, word times); cost per audio second of one clip aligned alone and of 8 clips in one
//     call, and the latency a request gains from alignment at concurrency 1 (its clip alone) and
//     8 (eight requests arriving together are aligned in one batch, so each waits for the batch),
//     against 8 aligned one after another. Precisions are interleaved rep by rep; min / median;
//     every timed call under the quiet meter (bench/quiet.ts), ratios from disturbed runs refused.
//     Alignment beside transcription (added latency, decoder cadence): bench/aligner-beside.ts.
// Usage: node dist/bench/aligner.js [--precisions fp32,int8,int4] [--clip-s 10] [--reps 5] [--threads 2]
//        [--cache-dir DIR] [--max-other-cores 0.1] [--skip-real] [--error-only]
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import type { Precision } from '../stages/common/engine/runner.js';
import { Aligner, type AlignRequest, type AlignResult } from '../stages/qwen3-forced-aligner/aligner.js';
import { makeAlignerCheckpoint } from '../stages/qwen3-forced-aligner/checkpoint/make-checkpoint.js';
import { argmaxRows } from '../stages/qwen3-forced-aligner/decode/timestamps.js';
import { AlignerGoldenSet, runAlignerGolden } from '../stages/qwen3-forced-aligner/reference/golden.js';
import { splitWords } from '../stages/qwen3-forced-aligner/text/words.js';
import { benchCacheDir, parseScriptArgs } from './args.js';
import { QuietMeter, quietSample, ratioLine, runLine, Series } from './quiet.js';

const USAGE = 'Usage: node dist/bench/aligner.js [--precisions fp32,int8,int4] [--clip-s 10] [--reps 5] [--threads 2] [--cache-dir DIR] [--max-other-cores 0.1] [--skip-real] [--error-only]';
const { values } = parseScriptArgs(USAGE, {
  options: {
    precisions: { type: 'string', default: 'fp32,int8,int4' },
    'clip-s': { type: 'string', default: '10' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    'cache-dir': { type: 'string' },
    'max-other-cores': { type: 'string', default: '0.1' },
    'skip-real': { type: 'boolean', default: false },
    'error-only': { type: 'boolean', default: false },
  },
});
const precisions = values.precisions!.split(',') as Precision[];
const clipS = Number(values['clip-s']);
const reps = Number(values.reps);
const threads = Number(values.threads);
const cache = benchCacheDir(values['cache-dir']);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
const e = (x: number) => x.toExponential(1).padStart(8);

async function goldenErrors(): Promise<void> {
  const root = path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner');
  const cacheDir = path.join(cache, 'graphs');
  console.log('golden set  precision  slot logits max rel   slot classes = golden   word times max |Δ| s');
  for (const name of fs.readdirSync(root).sort()) {
    const set = new AlignerGoldenSet(path.join(root, name));
    for (const precision of ['fp32', ...precisions.filter((p) => p !== 'fp32')] as Precision[]) {
      const outcomes = await runAlignerGolden(set, { modelPath: set.checkpoint, cacheDir, precision });
      let same = 0;
      let slots = 0;
      for (const o of outcomes) {
        const golden = argmaxRows(set.array(`${o.name}.slot_logits`) as Float32Array, set.manifest.config.classes);
        const mine = argmaxRows(o.logits, set.manifest.config.classes);
        golden.forEach((c, i) => { same += c === mine[i] ? 1 : 0; });
        slots += golden.length;
      }
      const dt = Math.max(...outcomes.flatMap((o) => o.times.flatMap((w, i) => [Math.abs(w.start - o.expected.times[i].start), Math.abs(w.end - o.expected.times[i].end)])));
      console.log(`${name.padEnd(11)} ${precision.padEnd(9)}  ${e(Math.max(...outcomes.map((o) => o.logitsError)))}              ${`${same}/${slots}`.padStart(9)}              ${dt.toFixed(3).padStart(8)}`);
    }
  }
}

/** A clip of `seconds` (jfk.wav repeated) with ~2.5 words per second of its transcript. */
async function benchClip(seconds: number): Promise<AlignRequest> {
  const jfk = (await decodeAudio(new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'))), { maxDurationS: 60 })).channels[0];
  const samples = new Float32Array(Math.round(seconds * 16000));
  for (let i = 0; i < samples.length; i++) samples[i] = jfk[i % jfk.length];
  const text = splitWords('And so my fellow Americans ask not what your country can do for you ask what you can do for your country');
  return { samples, words: Array.from({ length: Math.round(seconds * 2.5) }, (_, i) => text[i % text.length]) };
}

/** Worst differences of `quantised` from fp32 over the same clips (times clamped to each clip, as the stage serves them). */
function errorsVsFp32(fp32: AlignResult[], quantised: AlignResult[], classes: number, clips: AlignRequest[]): string {
  let rel = 0;
  let same = 0;
  let slots = 0;
  let dt = 0;
  fp32.forEach((ref, k) => {
    const q = quantised[k];
    let peak = 0;
    let diff = 0;
    ref.logits.forEach((v, i) => { peak = Math.max(peak, Math.abs(v)); diff = Math.max(diff, Math.abs(v - q.logits[i])); });
    rel = Math.max(rel, diff / peak);
    const a = argmaxRows(ref.logits, classes);
    const b = argmaxRows(q.logits, classes);
    a.forEach((c, i) => { same += c === b[i] ? 1 : 0; });
    slots += a.length;
    const clamp = (v: number) => Math.min(clips[k].samples.length / 16000, Math.max(0, v));
    ref.words.forEach((w, i) => { dt = Math.max(dt, Math.abs(clamp(w.start) - clamp(q.words[i].start)), Math.abs(clamp(w.end) - clamp(q.words[i].end))); });
  });
  return `slot logits max rel ${e(rel)}   slot classes = fp32 ${same}/${slots}   word times max |Δ| ${dt.toFixed(3)} s`;
}

async function realShape(): Promise<void> {
  const modelPath = path.join(cache, 'qwen3-forced-aligner-0.6b-random');
  if (!fs.existsSync(path.join(modelPath, 'config.json'))) {
    console.log(`writing the 0.6B-shape aligner checkpoint to ${modelPath} (random weights, kept for later runs)`);
    await makeAlignerCheckpoint({ size: '0.6b', out: modelPath, seed: 0 });
  }
  const cacheDir = path.join(cache, 'graphs');
  const aligners = new Map<Precision, Aligner>();
  for (const precision of precisions) {
    const started = performance.now();
    aligners.set(precision, await Aligner.create({ modelPath, cacheDir, precision, device: 'cpu', threads }));
    console.log(`${precision}: loaded (graphs converted or read from the cache) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const clip = await benchClip(clipS);

  const reference = aligners.get('fp32');
  if (reference) {
    const clips = [clip, await benchClip(Math.max(2, clipS / 2.5))];
    const fp32 = await reference.align(clips);
    console.log(`\n0.6B shape, errors against fp32 on ${clips.map((c) => `${(c.samples.length / 16000).toFixed(0)} s`).join(' + ')} clips (random weights: near-flat logits make class flips likelier than in a trained model)`);
    for (const [precision, a] of aligners) if (precision !== 'fp32') console.log(`${precision.padEnd(9)}  ${errorsVsFp32(fp32, await a.align(clips), reference.classes, clips)}`);
  }

  const series = new Map(precisions.map((p) => [p, { one: new Series(`${p} alone`), eight: new Series(`${p} 8 batched`), serial8: new Series(`${p} 8 one by one`) }]));
  const timed = async (s: Series, f: () => Promise<unknown>) => {
    const { quiet } = await quietSample(meter, f, 2);
    s.add(quiet.wallMs, quiet);
  };
  const run = await meter.measure(async () => {
    for (let r = 0; r < reps; r++) {
      for (const precision of precisions) {
        const a = aligners.get(precision)!;
        const t = series.get(precision)!;
        await timed(t.one, () => a.align([clip]));
        await timed(t.eight, () => a.align(Array(8).fill(clip)));
        await timed(t.serial8, async () => { for (let i = 0; i < 8; i++) await a.align([clip]); });
      }
      process.stderr.write(`rep ${r + 1}/${reps}\n`);
    }
  });
  console.log(`\n0.6B shape, ${clipS} s clips with ${clip.words.length} words, ${threads} threads, ${reps} interleaved reps; ms, min / median`);
  for (const precision of precisions) {
    const t = series.get(precision)!;
    console.log(`${precision}: alone (c=1) ${t.one.describe(0)}; 8 in one batch (c=8) ${t.eight.describe(0)}; 8 one by one ${t.serial8.describe(0)}`);
    console.log(`${' '.repeat(precision.length)}  cost per audio second: alone ${(t.one.median() / clipS).toFixed(1)} ms, batched ${(t.eight.median() / (8 * clipS)).toFixed(1)} ms (median)`);
    console.log(`${' '.repeat(precision.length)}  ${ratioLine('one by one ÷ batched', t.serial8, t.eight, run.quiet)}`);
  }
  console.log('c=1: a request waits for its own alignment (alone); c=8: eight arriving together wait for one batch of 8.');
  console.log(runLine(run.quiet, meter.maxOtherCores));
  for (const a of aligners.values()) await a.dispose();
}

fs.mkdirSync(cache, { recursive: true });
console.log(`cache: ${cache}`);
console.log(await meter.banner());
await goldenErrors();
if (!values['skip-real'] && !values['error-only']) await realShape();
