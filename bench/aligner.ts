// Qwen3-ForcedAligner costs and errors, measured side by side.
//  1. Quantisation error on the golden sets (test/fixtures/golden/qwen3-forced-aligner/*, the
//     official aligner in float64): slot logits max |Δ| / max |golden|, slot classes equal to the
//     golden argmax, word times max |Δ|. fp32 is what the golden test asserts.
//  2. At the real 0.6B shape (random weights cost what trained ones do; make-checkpoint is
//     cached in --work): cost per audio second of one clip aligned alone and of 8 clips in one
//     call, and the latency a request gains from alignment at concurrency 1 (its clip alone) and
//     8 (eight requests arriving together are aligned in one batch, so each waits for the batch),
//     against 8 aligned one after another. Precisions are interleaved rep by rep; min and median.
// Usage: node dist/bench/aligner.js [--precisions int8,int4] [--clip-s 10] [--reps 5] [--threads 2]
//        [--work DIR] [--skip-real] [--error-only]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import type { Precision } from '../stages/common/engine/runner.js';
import { Aligner, type AlignRequest } from '../stages/qwen3-forced-aligner/aligner.js';
import { makeAlignerCheckpoint } from '../stages/qwen3-forced-aligner/checkpoint/make-checkpoint.js';
import { argmaxRows } from '../stages/qwen3-forced-aligner/decode/timestamps.js';
import { AlignerGoldenSet, runAlignerGolden } from '../stages/qwen3-forced-aligner/reference/golden.js';
import { splitWords } from '../stages/qwen3-forced-aligner/text/words.js';
import { parseScriptArgs } from './args.js';

const USAGE = 'usage: node dist/bench/aligner.js [--precisions int8,int4] [--clip-s 10] [--reps 5] [--threads 2] [--work DIR] [--skip-real] [--error-only]';
const { values } = parseScriptArgs(USAGE, {
  options: {
    precisions: { type: 'string', default: 'int8,int4' },
    'clip-s': { type: 'string', default: '10' },
    reps: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'sgl-omni-bench-aligner') },
    'skip-real': { type: 'boolean', default: false },
    'error-only': { type: 'boolean', default: false },
  },
});
const precisions = values.precisions!.split(',') as Precision[];
const clipS = Number(values['clip-s']);
const reps = Number(values.reps);
const threads = Number(values.threads);
const work = values.work!;
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const e = (x: number) => x.toExponential(1).padStart(8);
const ms = (x: number) => `${x.toFixed(0).padStart(6)} ms`;

async function goldenErrors(): Promise<void> {
  const root = path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner');
  const cacheDir = path.join(work, 'cache-tiny');
  console.log('golden set  precision  slot logits max rel   slot classes = golden   word times max |Δ| s');
  for (const name of fs.readdirSync(root).sort()) {
    const set = new AlignerGoldenSet(path.join(root, name));
    for (const precision of ['fp32', ...precisions] as Precision[]) {
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

async function realShape(): Promise<void> {
  const modelPath = path.join(work, 'aligner-0.6b');
  if (!fs.existsSync(path.join(modelPath, 'config.json'))) {
    console.log(`writing the 0.6B-shape aligner checkpoint to ${modelPath} (random weights, kept for later runs)`);
    await makeAlignerCheckpoint({ size: '0.6b', out: modelPath, seed: 0 });
  }
  const cacheDir = path.join(work, 'cache-0.6b');
  const aligners = new Map<Precision, Aligner>();
  for (const precision of precisions) {
    const started = performance.now();
    aligners.set(precision, await Aligner.create({ modelPath, cacheDir, precision, device: 'cpu', threads }));
    console.log(`${precision}: loaded (graphs converted or read from the cache) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const clip = await benchClip(clipS);
  const times = new Map(precisions.map((p) => [p, { one: [] as number[], eight: [] as number[], serial8: [] as number[] }]));
  const timed = async (f: () => Promise<unknown>) => { const s = performance.now(); await f(); return performance.now() - s; };
  for (let r = 0; r < reps; r++) {
    for (const precision of precisions) {
      const a = aligners.get(precision)!;
      const t = times.get(precision)!;
      t.one.push(await timed(() => a.align([clip])));
      t.eight.push(await timed(() => a.align(Array(8).fill(clip))));
      t.serial8.push(await timed(async () => { for (let i = 0; i < 8; i++) await a.align([clip]); }));
    }
    process.stderr.write(`rep ${r + 1}/${reps}\n`);
  }
  console.log(`\n0.6B shape, ${clipS} s clips with ${clip.words.length} words, ${threads} threads, ${reps} interleaved reps; min / median`);
  console.log('precision  alone (c=1)          8 in one batch (c=8)   8 one by one          cost per audio s: alone / batched   batch ÷ alone   one-by-one ÷ batch');
  for (const precision of precisions) {
    const t = times.get(precision)!;
    console.log(`${precision.padEnd(9)}  ${ms(Math.min(...t.one))} / ${ms(median(t.one))}  ${ms(Math.min(...t.eight))} / ${ms(median(t.eight))}  ${ms(Math.min(...t.serial8))} / ${ms(median(t.serial8))}  `
      + `${(median(t.one) / clipS).toFixed(1).padStart(6)} / ${(median(t.eight) / (8 * clipS)).toFixed(1).padStart(6)} ms       ${(median(t.eight) / median(t.one)).toFixed(2).padStart(6)}          ${(median(t.serial8) / median(t.eight)).toFixed(2).padStart(6)}`);
  }
  console.log('c=1: a request waits for its own alignment (alone); c=8: eight arriving together wait for one batch of 8.');
  for (const a of aligners.values()) await a.dispose();
}

fs.mkdirSync(work, { recursive: true });
console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at start (shared: other work runs beside this)`);
await goldenErrors();
if (!values['skip-real'] && !values['error-only']) await realShape();
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
