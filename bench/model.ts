// Qwen3-ASR model speed on this machine, precisions side by side, on a
// real-shape checkpoint with random weights (random weights cost the same time
// as trained ones): encoder ms, prefill ms, greedy decode step at batch 1, the
// whole request (encode + prefill + --new-tokens greedy steps) and its RTF, and
// decode tokens/s at batch 8. Rounds alternate the precisions so load falls on
// all alike; every phase carries the CPU other processes took meanwhile
// (bench/quiet.ts), disturbed rounds are retaken, and ratios from a run that
// stayed disturbed are refused. Min and median over --runs rounds.
// Conversion time is only real on the first run (the graphs are cached); the
// first-start cost of hashing the weights for the cache key is measured apart.
// Each precision's decode-step graph also gets its kernel count (nodes after
// onnxruntime's optimisations: load-independent, common/onnx/kernel-count.ts).
// Last, the machine's limits (bench/machine-limits.ts) and each precision's
// encoder, prefill and step as a fraction of the floor those limits set.
// --baseline DIR (another checkout, built) opens that build's runners beside
// this one's for each precision, in the same process and rounds, and prints
// this build against it: for changes to the runners that leave the graphs alone.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { contentDigest, type ByteRange } from '../stages/common/weights/digest.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import type { ConvertProgress } from '../stages/common/graph/cache.js';
import { ensureGraph } from '../stages/qwen3-asr/graph/convert.js';
import { loadModelSpec } from '../stages/qwen3-asr/graph/model-spec.js';
import { optimizedKernelCount } from '../stages/common/onnx/kernel-count.js';
import { planEncoderRuns } from '../stages/qwen3-asr/runner/encoder-plan.js';
import { MAX_CHUNKS_PER_RUN } from '../stages/qwen3-asr/runner/encoder-runner.js';
import { benchCacheDir, parseScriptArgs, parseVariant, type Variant } from './args.js';
import { BATCH, OursUnderTest, PHASES, ensureRandomCheckpoint, quietRound, requestShape } from './peer-ours.js';
import { limitsLine, measureMachineLimits, phaseFloors } from './machine-limits.js';
import { QuietMeter, ratioLine, refusal, runLine } from './quiet.js';
import { CHECKPOINT_SHAPES } from '../stages/qwen3-asr/checkpoint/sizes.js';

const USAGE = `Usage: node dist/bench/model.js [--size 0.6b|1.7b] [--precisions fp32,int8,int4,int8+pc,int4+pc-prefill] [--threads 2]
       [--audio-s 10] [--new-tokens 32] [--runs 5] [--retries 3] [--max-other-cores 0.1] [--cache-dir DIR] [--baseline DIR]
Qwen3-ASR speed by phase and precision (random real-shape checkpoint), min / median over --runs
alternating rounds; ratios against the first precision (with --baseline: each precision against
the same precision in the built checkout DIR), refused when a round stayed disturbed.
+pc: per-channel int8 kernel (MatMulInteger) in encoder, prefill and decode; +pc-prefill: in
encoder and prefill only, the precision's blockwise kernel (MatMulNBits) for decode steps; +kv16: a
float16 KV cache (half the memory per slot); +gqa: the decoder updates a float32 cache in place with
GroupQueryAttention (half the kernels per step); a trailing +spin: decoder pool threads spin during
each run (e.g. int4+gqa, int4+kv16, int4+pc-prefill+gqa+spin).`;
const { values } = parseScriptArgs(USAGE, {
  options: {
    size: { type: 'string', default: '0.6b' },
    precisions: { type: 'string', default: 'fp32,int8,int4' },
    threads: { type: 'string', default: '2' },
    'audio-s': { type: 'string', default: '10' },
    'new-tokens': { type: 'string', default: '32' },
    runs: { type: 'string', default: '5' },
    retries: { type: 'string', default: '3' },
    'max-other-cores': { type: 'string', default: '0.1' },
    'cache-dir': { type: 'string' },
    baseline: { type: 'string' },
  },
});
const size = values.size as CheckpointSize;
const variants = values.precisions.split(',').map(parseVariant);
const threads = Number(values.threads);
const audioS = Number(values['audio-s']);
const newTokens = Number(values['new-tokens']);
const runs = Number(values.runs);
const retries = Number(values.retries);
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const cache = benchCacheDir(values['cache-dir']);
const modelDir = path.join(cache, `qwen3-asr-${size}-random`);
const graphs = path.join(cache, 'graphs');
console.log(`cache: ${cache} (checkpoint and converted graphs; --cache-dir or SGL_OMNI_BENCH_CACHE to move it)`);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
console.log(await meter.banner());
await ensureRandomCheckpoint(size, modelDir, log);
const spec = loadModelSpec(modelDir);
await keyHashCost();
const { clip, prompt, audioTokens } = requestShape(spec, audioS);
console.log(encoderRowsLine());

/** Rows the encoder layers run on for this clip, packed and as padded windows, and their matmul work (deterministic). */
function encoderRowsLine(): string {
  const d = spec.encoder;
  const runs = planEncoderRuns(d, [clip], MAX_CHUNKS_PER_RUN);
  const packed = runs.reduce((a, r) => a + r.rowIndex.length, 0);
  const padded = runs.reduce((a, r) => a + r.windows * r.windowLen, 0);
  // q, k, v, out (4·d²) and fc1, fc2 (2·d·ffn) per row per layer, 2 FLOPs per multiply-add
  const gflop = (rows: number) => (2 * rows * d.layers * (4 * d.dModel ** 2 + 2 * d.dModel * d.ffnDim)) / 1e9;
  return `encoder layers: ${packed} packed rows (padding each attention window would make ${padded}): ${gflop(packed).toFixed(1)} instead of ${gflop(padded).toFixed(1)} GFLOP of layer matmuls (-${(100 * (1 - packed / padded)).toFixed(1)} %)`;
}

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
    const first = await meter.measure(() => contentDigest(ranges, { sidecar }));
    const again = await meter.measure(() => contentDigest(ranges, { sidecar }));
    const note = first.quiet.disturbed ? ' (DISTURBED)' : '';
    console.log(`cache key: hashed ${(bytes / 1e9).toFixed(2)} GB in ${(first.quiet.wallMs / 1000).toFixed(2)} s (${(bytes / 1e6 / (first.quiet.wallMs / 1000)).toFixed(0)} MB/s) on a first start${note}; ${again.quiet.wallMs.toFixed(1)} ms once remembered`);
  } finally {
    fs.rmSync(sidecar, { force: true });
  }
}

/** The other build's runners (its own graphs, converted when its graph code differs). */
const baseline = values.baseline ? (await import(pathToFileURL(path.join(path.resolve(values.baseline), 'dist/bench/peer-ours.js')).href)) as typeof import('./peer-ours.js') : undefined;

// Every precision's runners stay open and the rounds interleave them.
type Contender = { precision: string; variant: Variant; convertS: number; stepKernels: number; ours: OursUnderTest; base?: Contender };
const loaded: Contender[] = [];
for (const variant of variants) {
  const opts = { modelPath: modelDir, cacheDir: graphs, variant, threads, newTokens, maxContext: prompt.length + newTokens + 8 };
  const base = baseline && { precision: `${variant.label}@baseline`, variant, convertS: NaN, stepKernels: NaN, ours: await baseline.OursUnderTest.open(`${variant.label}@baseline`, opts) };
  if (base) loaded.push(base);
  log(`[${variant.label}] converting (cached after the first time)`);
  const conv = await meter.measure(() => convertVariant(variant));
  const stepKernels = (await optimizedKernelCount(conv.value)).total;
  loaded.push({ precision: variant.label, variant, convertS: conv.quiet.wallMs / 1000, stepKernels, ours: await OursUnderTest.open(variant.label, opts), base });
}

/** Builds (or finds) every graph the variant opens, so opening it times no conversion; returns the decode-step graph. */
async function convertVariant(v: Variant): Promise<string> {
  let lastTenth = -1;
  const onProgress = (p: ConvertProgress) => { const tenth = Math.floor((p.doneElements / p.totalElements) * 10); if (tenth !== lastTenth) { lastTenth = tenth; log(`  ${p.part} ${tenth * 10}%`); } };
  const opts = { cacheDir: graphs, precision: v.precision, onProgress, modelPath: modelDir, kvCache: v.kvCache, kvInPlace: v.kvInPlace };
  const spec = loadModelSpec(modelDir);
  ensureGraph(spec, 'encoder', { ...opts, quantKernel: v.kernels.encoder });
  if (v.kernels.prefill && v.kernels.prefill !== v.kernels.decode) ensureGraph(spec, 'decoder', { ...opts, quantKernel: v.kernels.prefill });
  return ensureGraph(spec, 'decoder', { ...opts, quantKernel: v.kernels.decode });
}

for (const m of loaded) { log(`warm-up ${m.precision} (not recorded)`); await m.ours.round(meter, clip, prompt); }
const { quiet: run } = await meter.measure(async () => {
  for (let round = 1; round <= runs; round++) {
    for (const m of loaded) {
      log(`round ${round}/${runs} ${m.precision}`);
      await quietRound(m.precision, retries, log, () => m.ours.round(meter, clip, prompt), (r) => m.ours.record(r));
    }
  }
});
for (const m of loaded) await m.ours.close();

console.log(`\nQwen3-ASR ${size} (random weights), CPU, ${threads} threads, ${audioS} s clip = ${audioTokens} audio tokens, prompt ${prompt.length}, ${newTokens} new tokens greedy, b=8 steps with ${BATCH} prompts prefilled`);
console.log(`min / median over ${runs} rounds; "others" = cores other processes used during the phase (limit ${meter.maxOtherCores})`);
for (const m of loaded) {
  console.log(m.base || !baseline ? `${m.precision} (convert ${m.convertS.toFixed(1)} s; decode step ${m.stepKernels} kernels)` : `${m.precision} (${values.baseline})`);
  for (const p of PHASES) console.log(`  ${p.padEnd(12)} ${m.ours.series.get(p)!.describe(1)}`);
  const total = m.ours.series.get('total ms')!;
  const b8 = m.ours.series.get('step ms b=8')!;
  const mark = refusal([total, b8], run) ? ' (DISTURBED)' : '';
  console.log(`  RTF          ${(total.min() / 1000 / audioS).toFixed(3)} / ${(total.median() / 1000 / audioS).toFixed(3)}${mark}`);
  console.log(`  tok/s b=8    ${((1000 * BATCH) / b8.min()).toFixed(1)} / ${((1000 * BATCH) / b8.median()).toFixed(1)}${mark}`);
}
const why = refusal(loaded.flatMap((m) => [...m.ours.series.values()]), run);
if (why) console.log(`ratios ${why}`);
const pairs = baseline ? loaded.filter((m) => m.base).map((m) => [m, m.base!]) : loaded.slice(1).map((m) => [m, loaded[0]]);
for (const [m, base] of why ? [] : pairs) {
  console.log(`${m.precision} vs ${base.precision} (time ratio, < 1 is faster):`);
  for (const p of PHASES) console.log(`  ${ratioLine(p, m.ours.series.get(p)!, base.ours.series.get(p)!, run)}`);
}
console.log(runLine(run, meter.maxOtherCores));

log('measuring the machine limits');
const limits = await measureMachineLimits(threads, meter);
console.log(`\n${limitsLine(limits, threads)}`);
console.log('floor at those limits / our min (1.00 = at the limit):');
for (const m of loaded) {
  const kvBytes = m.variant.kvCache === 'float16' ? 2 : 4;
  const floor = phaseFloors(CHECKPOINT_SHAPES[size], limits, { audioTokens, promptTokens: prompt.length, newTokens, precision: m.variant.precision, kvBytes, int8Stem: m.variant.kernels.encoder === 'per-channel' });
  const at = (p: 'encoder ms' | 'prefill ms' | 'step ms b=1', f: number) => `${p.split(' ')[0]} ${f.toFixed(0)} ms floor, ${(f / m.ours.series.get(p)!.min()).toFixed(2)}`;
  console.log(`  ${m.precision.padEnd(16)} ${at('encoder ms', floor.encoder)}; ${at('prefill ms', floor.prefill)}; ${at('step ms b=1', floor.step)}`);
}
