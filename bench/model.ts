// Qwen3-ASR model speed on this machine, fp32 / int8 / int4 side by side, on a
// real-shape checkpoint with random weights (random weights cost the same time
// as trained ones): encoder milliseconds per second of audio, decoder tokens per
// second at batch 1 and batch 8, and the real-time factor of one clip
// (encode + prefill + --new-tokens greedy steps) / clip length.
// Conversion time is only real on the first run (the graphs are cached); the
// first-start cost of hashing the weights for the cache key is measured apart.
// Usage: node dist/bench/model.js [--size 0.6b|1.7b] [--precisions fp32,int8,int4]
//        [--threads 2] [--audio-s 10] [--new-tokens 32] [--runs 3]   (runs = measured rounds)
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/util/paths.js';
import { contentDigest, type ByteRange } from '../stages/common/weights/digest.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { convertModel } from '../stages/qwen3-asr/graph/convert.js';
import { audioTokenCount } from '../stages/qwen3-asr/graph/dims.js';
import { loadModelSpec } from '../stages/qwen3-asr/graph/model-spec.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { DecoderRunner, Precision } from '../stages/common/engine/runner.js';
import type { EncoderRunner } from '../stages/qwen3-asr/runner/types.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '0.6b' },
    precisions: { type: 'string', default: 'fp32,int8,int4' },
    threads: { type: 'string', default: '2' },
    'audio-s': { type: 'string', default: '10' },
    'new-tokens': { type: 'string', default: '32' },
    runs: { type: 'string', default: '3' },
  },
});
const size = values.size as CheckpointSize;
const precisions = values.precisions!.split(',') as Precision[];
const threads = Number(values.threads);
const audioS = Number(values['audio-s']);
const newTokens = Number(values['new-tokens']);
const runs = Number(values.runs);
const BATCH = 8;
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const cache = path.join(repoRoot(), '.cache');
const modelDir = path.join(cache, `qwen3-asr-${size}-random`);
if (!fs.existsSync(path.join(modelDir, 'config.json'))) {
  log(`writing a random ${size} checkpoint to ${modelDir}`);
  let lastPct = -1;
  await makeCheckpoint({
    size, out: modelDir, seed: 1,
    onProgress: (done, total) => { const p = Math.floor((done / total) * 10); if (p > lastPct) { lastPct = p; log(`  checkpoint ${p * 10}%`); } },
  });
}
const spec = loadModelSpec(modelDir);
await keyHashCost();
const frames = audioS * 100;
const audioTokens = audioTokenCount(spec.encoder, frames);
const clip = { frames, mel: seededValues(spec.encoder.numMelBins * frames, 5) };
const A = spec.decoder.audioTokenId;
// prompt shape of a transcription request: 9 prefix ids, N audio pads, 6 suffix ids
const prompt = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, ...new Array(audioTokens).fill(A), 10, 11, 12, 13, 14, 15]);

/**
 * First-start cost of the graph cache key (every weight byte a part reads is hashed once,
 * then remembered by file identity): both parts hashed into a fresh sidecar, then again.
 * The first pass reads through the page cache when the checkpoint was just written or read.
 */
async function keyHashCost(): Promise<void> {
  const sidecar = path.join(cache, `key-hash-bench-${process.pid}.json`);
  const ranges = new Map<string, ByteRange[]>();
  const tensors = [...spec.partTensors('encoder'), ...spec.partTensors('decoder')];
  for (const t of tensors) ranges.set(t.file, [...(ranges.get(t.file) ?? []), { offset: t.offset, length: t.byteLength }]);
  const bytes = tensors.reduce((a, t) => a + t.byteLength, 0);
  try {
    const first = await timeMs(async () => contentDigest(ranges, { sidecar }));
    const again = await timeMs(async () => contentDigest(ranges, { sidecar }));
    console.log(`cache key: hashed ${(bytes / 1e9).toFixed(2)} GB in ${(first.ms / 1000).toFixed(2)} s (${(bytes / 1e6 / (first.ms / 1000)).toFixed(0)} MB/s) on a first start; ${again.ms.toFixed(1)} ms once remembered`);
  } finally {
    fs.rmSync(sidecar, { force: true });
  }
}

async function timeMs<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Row { precision: Precision; convertS: number; encMsPerS: number; prefillMs: number; tokS1: number; tokS8: number; rtf: number }
interface Sample { encMs: number; prefillMs: number; stepMs1: number; stepMs8: number }

// Every precision's runners stay open and the rounds interleave them, so load
// from other processes on the machine falls on all precisions alike; each
// figure is the median over the rounds.
const loaded: { precision: Precision; convertS: number; enc: EncoderRunner; dec: DecoderRunner; samples: Sample[] }[] = [];
for (const precision of precisions) {
  log(`[${precision}] converting (cached after the first time)`);
  let lastTenth = -1;
  const conv = await timeMs(() => convertModel({
    modelPath: modelDir, cacheDir: path.join(cache, 'graphs'), precision,
    onProgress: (p) => { const tenth = Math.floor((p.doneElements / p.totalElements) * 10); if (tenth !== lastTenth) { lastTenth = tenth; log(`  ${p.part} ${tenth * 10}%`); } },
  }));
  const opts = { modelPath: modelDir, cacheDir: path.join(cache, 'graphs'), precision, device: 'cpu', threads };
  const enc = await createEncoderRunner(opts);
  const dec = await createDecoderRunner({ ...opts, maxSlots: BATCH, maxContext: prompt.length + newTokens + 8 });
  loaded.push({ precision, convertS: conv.ms / 1000, enc, dec, samples: [] });
}

const slots = Array.from({ length: BATCH }, (_, i) => i);
for (let round = 0; round <= runs; round++) {
  for (const m of loaded) {
    log(`round ${round}/${runs} ${m.precision}${round === 0 ? ' (warm-up)' : ''}`);
    const enc = await timeMs(() => m.enc.encode([clip]));
    const audio = enc.value[0];
    for (const s of slots) m.dec.release(s);
    const prefill = await timeMs(() => m.dec.prefill(0, prompt, audio));
    const single = await timeMs(async () => { for (let i = 0; i < newTokens; i++) await m.dec.decode([0], Int32Array.of(100 + i)); });
    m.dec.release(0);
    for (const s of slots) await m.dec.prefill(s, prompt, audio);
    const steps = Math.max(4, Math.floor(newTokens / 4));
    const batched = await timeMs(async () => { for (let i = 0; i < steps; i++) await m.dec.decode(slots, new Int32Array(BATCH).fill(100 + i)); });
    if (round > 0) m.samples.push({ encMs: enc.ms, prefillMs: prefill.ms, stepMs1: single.ms / newTokens, stepMs8: batched.ms / steps });
  }
}

const rows: Row[] = [];
for (const m of loaded) {
  const med = (f: (s: Sample) => number) => median(m.samples.map(f));
  const stepMs1 = med((s) => s.stepMs1);
  rows.push({
    precision: m.precision, convertS: m.convertS, encMsPerS: med((s) => s.encMs) / audioS, prefillMs: med((s) => s.prefillMs),
    tokS1: 1000 / stepMs1, tokS8: (1000 * BATCH) / med((s) => s.stepMs8),
    rtf: (med((s) => s.encMs) + med((s) => s.prefillMs) + newTokens * stepMs1) / 1000 / audioS,
  });
  await Promise.all([m.enc.dispose(), m.dec.dispose()]);
}

const base = rows.find((r) => r.precision === 'fp32') ?? rows[0];
const fmt = (v: number, d = 1) => v.toFixed(d).padStart(8);
const ratio = (v: number, b: number) => `${(v / b).toFixed(2)}x`.padStart(7);
console.log(`\nQwen3-ASR ${size} (random weights), CPU, ${threads} threads, ${audioS} s clip = ${audioTokens} audio tokens, prompt ${prompt.length}, ${newTokens} new tokens`);
console.log('precision  convert s  enc ms/s audio (ratio)  prefill ms (ratio)  tok/s b=1 (ratio)  tok/s b=8 (ratio)   RTF (ratio)');
for (const r of rows) {
  console.log(`${r.precision.padEnd(9)} ${fmt(r.convertS)}   ${fmt(r.encMsPerS)} ${ratio(r.encMsPerS, base.encMsPerS)}      ${fmt(r.prefillMs, 0)} ${ratio(r.prefillMs, base.prefillMs)}   ${fmt(r.tokS1, 2)} ${ratio(r.tokS1, base.tokS1)}   ${fmt(r.tokS8, 2)} ${ratio(r.tokS8, base.tokS8)}  ${fmt(r.rtf, 3)} ${ratio(r.rtf, base.rtf)}`);
}
console.log('ratios are against the first fp32 row: for ms and RTF lower is better, for tok/s higher is better');
