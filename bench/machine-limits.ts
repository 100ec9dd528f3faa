// What this machine can do at most, measured with onnxruntime at the thread count
// the model runs with, and what each Qwen3-ASR phase would take at those limits
// (issue 18 asks for each phase's fraction of the machine limit where it cannot
// reach its target):
//   fp32 GEMM    MatMul, the best of three shapes (GEMM_SHAPES): GFLOP/s
//   int8 GEMM    MatMulInteger u8 x s8, same shapes (the per-channel kernel's GEMM): Top/s
//   weight read  fp32 GEMV [1 x 8192] x [8192 x 8192] (256 MiB of weights, far past
//                any cache): GB/s, the rate a batch-1 decode step can stream weights at
// Phase floors: encoder = conv stem FLOPs at the fp32 rate (with the per-channel
// kernel, only the first conv's: the other two run as int8 GEMMs) + layer matmul
// FLOPs at the int8 rate; prefill = 2 x decoder weights x prompt tokens at the int8 rate;
// decode step b=1 = the bytes of decoder weights (at the precision's bytes per weight)
// and of the KV cache read once. Attention, norms and the rest count as zero, so a
// floor is a bound no implementation can beat, not an estimate of a good one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as ortTypes from 'onnxruntime-node';
import { GraphBuilder } from '../stages/common/onnx/graph-builder.js';
import { createSession } from '../stages/common/onnx/session.js';
import type { CheckpointShape } from '../stages/qwen3-asr/checkpoint/sizes.js';
import type { QuietMeter } from './quiet.js';

export interface MachineLimits {
  fp32Gflops: number;
  int8Tops: number;
  readGBs: number;
  /** True when other processes took more than the meter's limit during a best sample. */
  disturbed: boolean;
}

/** [M, K, N] of the GEMMs timed: 10 s of encoder rows through its FFN, a square one, a wide one. */
const GEMM_SHAPES = [[130, 896, 3584], [1024, 1024, 1024], [256, 2048, 2048]] as const;

/** Bytes per weight of the decoder's linear layers at each precision (blockwise: + one fp32 scale per 32). */
const BYTES_PER_WEIGHT: Record<string, number> = { fp32: 4, int8: 1 + 4 / 32, int4: 0.5 + 4 / 32 };

async function best(session: ortTypes.InferenceSession, feeds: Record<string, ortTypes.Tensor>, meter: QuietMeter, reps: number): Promise<{ ms: number; disturbed: boolean }> {
  await session.run(feeds);
  let ms = Infinity;
  let disturbed = false;
  for (let i = 0; i < reps; i++) {
    const { quiet } = await meter.measure(() => session.run(feeds));
    if (quiet.wallMs < ms) [ms, disturbed] = [quiet.wallMs, quiet.disturbed];
  }
  return { ms, disturbed };
}

function randomBytes(n: number, signed: boolean): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = signed ? ((i * 37) % 255) - 127 : (i * 53) % 256;
  return out;
}

/** Builds one single-op graph in `dir` and opens it. */
async function opSession(dir: string, name: string, threads: number, build: (g: GraphBuilder) => void): Promise<ortTypes.InferenceSession> {
  const g = new GraphBuilder(name);
  g.openExternalData(path.join(dir, `${name}.data`));
  build(g);
  const file = path.join(dir, `${name}.onnx`);
  g.save(file);
  return createSession(file, 'cpu', threads);
}

export async function measureMachineLimits(threads: number, meter: QuietMeter, reps = 15): Promise<MachineLimits> {
  const ort = await import('onnxruntime-node');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'machine-limits-'));
  try {
    // The best rate over a few shapes (ours among them: encoder FFN rows, a square one, a wide one).
    let fp32Gflops = 0;
    let int8Tops = 0;
    let disturbed = false;
    for (const [M, K, N] of GEMM_SHAPES) {
      const ops = 2 * M * K * N;
      const gemm = await opSession(dir, `gemm_f32_${M}`, threads, (g) => {
        g.input('a', 'float32', [M, K]);
        g.output(g.op1('MatMul', ['a', g.initializer('b', 'float32', [K, N], Float32Array.from({ length: K * N }, (_, i) => ((i % 97) - 48) / 97))]), 'float32', [M, N]);
      });
      const f32 = await best(gemm, { a: new ort.Tensor('float32', Float32Array.from({ length: M * K }, (_, i) => (i % 13) / 13), [M, K]) }, meter, reps);
      const igemm = await opSession(dir, `gemm_u8s8_${M}`, threads, (g) => {
        g.input('a', 'uint8', [M, K]);
        const zero = g.initializer('a_zero', 'uint8', [], new Uint8Array([128]));
        g.output(g.op1('MatMulInteger', ['a', g.initializer('b', 'int8', [K, N], randomBytes(K * N, true)), zero]), 'int32', [M, N]);
      });
      const i8 = await best(igemm, { a: new ort.Tensor('uint8', randomBytes(M * K, false) as Uint8Array, [M, K]) }, meter, reps);
      await Promise.all([gemm.release(), igemm.release()]);
      fp32Gflops = Math.max(fp32Gflops, ops / f32.ms / 1e6);
      int8Tops = Math.max(int8Tops, ops / i8.ms / 1e9);
      disturbed ||= f32.disturbed || i8.disturbed;
    }
    const D = 8192;
    const gemv = await opSession(dir, 'gemv_f32', threads, (g) => {
      g.input('x', 'float32', [1, D]);
      g.output(g.op1('MatMul', ['x', g.initializer('w', 'float32', [D, D], Float32Array.from({ length: D * D }, (_, i) => (i % 7) / 7))]), 'float32', [1, D]);
    });
    const read = await best(gemv, { x: new ort.Tensor('float32', new Float32Array(D).fill(0.5), [1, D]) }, meter, reps);
    await gemv.release();
    return { fp32Gflops, int8Tops, readGBs: (D * D * 4) / read.ms / 1e6, disturbed: disturbed || read.disturbed };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Multiply-adds x 2 of the Qwen3-ASR conv stem on `audioTokens` tokens, 3x3 stride-2 convs over 128 mel bins, 8 frames per token: the first conv and the other two. */
function stemFlop(shape: CheckpointShape, audioTokens: number): { first: number; rest: number } {
  const c = shape.audio.downsample;
  const frames = audioTokens * 8;
  // conv1: 1 -> c at 64 x frames/2; conv2: c -> c at 32 x frames/4; conv3: c -> c at 16 x frames/8
  return { first: 2 * 9 * c * 64 * (frames / 2), rest: 2 * 9 * (c * c * 32 * (frames / 4) + c * c * 16 * (frames / 8)) };
}

/** Floors of each phase at `limits`, ms. */
export function phaseFloors(shape: CheckpointShape, limits: MachineLimits, opts: { audioTokens: number; promptTokens: number; newTokens: number; precision: string; kvBytes: number; int8Stem: boolean }): { encoder: number; prefill: number; step: number } {
  const { audio: a, text: t } = shape;
  const stem = stemFlop(shape, opts.audioTokens);
  const layerFlop = 2 * opts.audioTokens * a.layers * (4 * a.dModel ** 2 + 2 * a.dModel * a.ffn);
  const q = t.heads * t.headDim;
  const kv = t.kvHeads * t.headDim;
  const decoderWeights = t.layers * (t.hidden * (2 * q + 2 * kv) + 3 * t.hidden * t.intermediate);
  const head = t.hidden * (typeof t.vocabSize === 'number' ? t.vocabSize : 0);
  const bytesPerWeight = BYTES_PER_WEIGHT[opts.precision] ?? 4;
  // one token's K and V in every layer, for the prompt and the new tokens
  const kvRead = t.layers * 2 * kv * opts.kvBytes * (opts.promptTokens + opts.newTokens);
  return {
    encoder: (stem.first + (opts.int8Stem ? 0 : stem.rest)) / limits.fp32Gflops / 1e6 + ((opts.int8Stem ? stem.rest : 0) + layerFlop) / limits.int8Tops / 1e9,
    prefill: (2 * decoderWeights * opts.promptTokens) / limits.int8Tops / 1e9,
    step: ((decoderWeights + head) * bytesPerWeight + kvRead) / limits.readGBs / 1e6,
  };
}

export function limitsLine(l: MachineLimits, threads: number): string {
  return `machine limits (onnxruntime, ${threads} threads, best of the samples${l.disturbed ? ', DISTURBED' : ''}): fp32 GEMM ${l.fp32Gflops.toFixed(0)} GFLOP/s, int8 GEMM ${l.int8Tops.toFixed(2)} Top/s, weight read (fp32 GEMV) ${l.readGBs.toFixed(1)} GB/s`;
}
