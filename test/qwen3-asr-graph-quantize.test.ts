// Weight quantisation in MatMulNBits layout and per-channel int8 (MatMulInteger),
// the linear block in each precision and kernel against a float64 matmul, and the fp16 conversion.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import t from 'tap';
import { GraphBuilder } from '../stages/common/onnx/graph-builder.js';
import type { LinearPrecision, QuantKernel, WeightSource } from '../stages/common/graph/context.js';
import { linear } from '../stages/common/graph/linear.js';
import { float32ToFloat16, quantizeNBits, quantizePerChannelInt8 } from '../stages/common/graph/quantize.js';
import { int8Kernel, int8WeightLimit } from '../stages/common/onnx/cpu-features.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';

const N = 40;
const K = 80; // 2.5 blocks of 32: exercises a partial block and an odd block count
const M = 3;
const w = seededValues(N * K, 7, 0.5);
w.fill(0, 0, 32); // an all-zero block
const x = seededValues(M * K, 9, 1);

function dequantize(bits: 4 | 8): Float64Array {
  const q = quantizeNBits(w, N, K, bits, 32);
  const out = new Float64Array(N * K);
  const zpRow = Math.ceil((q.blocksPerRow * bits) / 8);
  const nibble = (bytes: Uint8Array, i: number) => (bytes[i >> 1] >> ((i & 1) * 4)) & 15;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < q.blocksPerRow; b++) {
      const zp = bits === 8 ? q.zeroPoints[n * zpRow + b] : nibble(q.zeroPoints.subarray(n * zpRow), b);
      const blob = q.packed.subarray((n * q.blocksPerRow + b) * 4 * bits);
      for (let i = 0; i < 32 && b * 32 + i < K; i++) {
        const code = bits === 8 ? blob[i] : nibble(blob, i);
        out[n * K + b * 32 + i] = (code - zp) * q.scales[n * q.blocksPerRow + b];
      }
    }
  }
  return out;
}

t.test('dequantised weights are within half a step of the originals; zero blocks stay zero', async (t) => {
  for (const bits of [8, 4] as const) {
    const deq = dequantize(bits);
    const q = quantizeNBits(w, N, K, bits, 32);
    let worst = 0;
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) {
        const step = q.scales[n * q.blocksPerRow + Math.floor(k / 32)];
        worst = Math.max(worst, Math.abs(deq[n * K + k] - w[n * K + k]) / step);
      }
    }
    t.ok(worst <= 0.5 + 1e-6, `${bits}-bit: worst error ${worst.toFixed(3)} steps`);
    t.same(Array.from(deq.subarray(0, 32)), new Array(32).fill(0), `${bits}-bit: zero block`);
  }
});

async function runLinear(precision: LinearPrecision, dir: string, quantKernel?: QuantKernel, input = x): Promise<{ y: Float32Array; model: onnxProto.onnx.ModelProto }> {
  const weights: WeightSource = { has: () => true, shape: () => [N, K], float32: () => w.slice() };
  const g = new GraphBuilder('linear');
  g.input('x', 'float32', [M, K]);
  g.op1('Identity', [linear({ g, weights, precision, quantKernel }, 'x', { weight: 'w' }, 'proj')], {}, { output: 'y' });
  g.output('y', 'float32', [M, N]);
  const file = path.join(dir, `${precision}-${quantKernel ?? 'default'}.onnx`);
  g.save(file);
  const session = await ort.InferenceSession.create(file);
  const y = (await session.run({ x: new ort.Tensor('float32', input, [M, K]) })).y.data as Float32Array;
  await session.release();
  return { y, model: onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)) };
}

function matmul(weights: ArrayLike<number>): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) y[m * N + n] += x[m * K + k] * weights[n * K + k];
  return y;
}

t.test('linear() in fp32, fp16, int8 and int4 against a float64 matmul', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-linear-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fp32 = await runLinear('fp32', dir);
  t.ok(relativeError(fp32.y, matmul(w)) < 1e-6, 'fp32 is exact');
  // fp16 graphs are built for CUDA; onnxruntime's CPU kernels run them too, which checks the graph here
  const fp16 = await runLinear('fp16', dir);
  t.ok(relativeError(fp16.y, matmul(w)) < 2e-3, `fp16 (${relativeError(fp16.y, matmul(w)).toExponential(2)})`);
  for (const bits of [8, 4] as const) {
    const { y, model } = await runLinear(bits === 8 ? 'int8' : 'int4', dir);
    // accuracy level 4 also quantises activations to int8 per block: ~1% on top of the weight error
    t.ok(relativeError(y, matmul(dequantize(bits))) < 2e-2, `int${bits}: close to the dequantised weights (${relativeError(y, matmul(dequantize(bits))).toExponential(2)})`);
    const nodes = model.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    t.equal(nodes.length, 1);
    const attr = (name: string) => Number(nodes[0].attribute!.find((a) => a.name === name)!.i);
    t.same([attr('bits'), attr('block_size'), attr('accuracy_level')], [bits, 32, 4], `int${bits}: bits, block 32, accuracy level 4`);
  }
});

/** Wᵀ codes times the channel scales, back in W's [N, K] layout. */
function dequantizePerChannel(limit: number): Float64Array {
  const q = quantizePerChannelInt8(w, N, K, limit);
  return Float64Array.from({ length: N * K }, (_, i) => q.codes[(i % K) * N + Math.floor(i / K)] * q.scales[Math.floor(i / K)]);
}

t.test('per-channel int8: symmetric codes within half a step, zero rows exact, layout Wᵀ', async (t) => {
  for (const limit of [127, 63]) {
    const q = quantizePerChannelInt8(w, N, K, limit);
    const deq = dequantizePerChannel(limit);
    let worst = 0;
    for (let i = 0; i < N * K; i++) worst = Math.max(worst, Math.abs(deq[i] - w[i]) / q.scales[Math.floor(i / K)]);
    t.ok(worst <= 0.5 + 1e-6, `±${limit}: worst error ${worst.toFixed(3)} steps`);
    const largest = Array.from({ length: N }, (_, n) => Math.max(...Array.from({ length: K }, (_, k) => Math.abs(q.codes[k * N + n]))));
    t.same(new Set(largest), new Set([limit]), `±${limit}: every channel's largest code is the limit`);
  }
  const zero = quantizePerChannelInt8(new Float32Array(2 * 3), 2, 3);
  t.same([Array.from(zero.codes), Array.from(zero.scales)], [[0, 0, 0, 0, 0, 0], [1, 1]], 'all-zero rows: zero codes, scale 1');
});

t.test('int8_kernel auto: per-channel at int8 on x86 with VNNI (its u8s8 GEMM sums in 32 bits), blockwise otherwise; an explicit kernel is kept', async (t) => {
  const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  const vnni = os.arch() === 'x64' && /^flags\s*:.*\b(avx512_vnni|avx_vnni)\b/m.test(cpuinfo);
  t.equal(int8Kernel('auto', 'int8'), vnni ? 'per-channel' : 'blockwise', `this CPU ${vnni ? 'has' : 'lacks'} VNNI`);
  t.equal(int8WeightLimit(), vnni || os.arch() !== 'x64' ? 127 : 63);
  for (const precision of ['int4', 'fp32', 'fp16']) t.equal(int8Kernel('auto', precision), 'blockwise', `${precision}: blockwise (int4 keeps its 4-bit weights)`);
  t.equal(int8Kernel('auto', 'int4', true), vnni ? 'per-channel' : 'blockwise', 'int4 where int8 weights may stand in (the encoder): as int8');
  t.equal(int8Kernel('auto', 'fp32', true), 'blockwise', 'fp32: never quantised');
  t.equal(int8Kernel('blockwise', 'int8'), 'blockwise');
  t.equal(int8Kernel('per-channel', 'int4'), 'per-channel');
});

t.test('linear() with the per-channel kernel: MatMulInteger on per-row activations, close to the dequantised weights', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-linear-pc-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The range this CPU's u8s8 kernel takes (63 on x86 without VNNI, where ±127 saturates: 0.19 relative error here).
  const limit = int8WeightLimit();
  for (const precision of ['int8', 'int4'] as const) {
    const { y, model } = await runLinear(precision, dir, 'per-channel');
    // activations are quantised to uint8 per row at run time: ~0.5 % on top of the weight error
    const err = relativeError(y, matmul(dequantizePerChannel(limit)));
    t.ok(err < 2e-2 && err > 0, `${precision}: ${err.toExponential(2)} from the dequantised weights`);
    t.ok(relativeError(y, matmul(w)) < 3e-2, `${precision}: ${relativeError(y, matmul(w)).toExponential(2)} from the float weights`);
    const ops = model.graph!.node!.map((n) => n.opType);
    t.same([ops.filter((op) => op === 'MatMulInteger').length, ops.filter((op) => /MatMulNBits|DynamicQuantize/.test(op ?? '')).length], [1, 0], `${precision}: one MatMulInteger`);
    const wt = model.graph!.initializer!.find((i) => i.name === 'proj.qweight_t')!;
    t.same([wt.dataType, wt.dims!.map(Number)], [3, [K, N]], `${precision}: int8 Wᵀ [K, N]`);
  }
  // Each row is quantised on its own: a row 100x larger beside the others leaves their outputs unchanged
  // (with one scale per tensor, as DynamicQuantizeMatMul, they lose precision and depend on the batch).
  const loud = x.slice();
  for (let i = 0; i < K; i++) loud[i] *= 100;
  const quiet = (await runLinear('int8', dir, 'per-channel')).y;
  const beside = (await runLinear('int8', dir, 'per-channel', loud)).y;
  t.same(Array.from(beside.subarray(N)), Array.from(quiet.subarray(N)), 'rows 1..M-1 bit-identical whatever row 0 holds');
});

t.test('float32 → float16 rounds to nearest even, with subnormals and overflow', async (t) => {
  const src = Float32Array.from([1, -2, 0.1, 65504, 65520, 1e-8, 6e-8, 2 ** -14, Infinity, 1 + 2 ** -11, 1 + 3 * 2 ** -11]);
  t.same(Array.from(float32ToFloat16(src)), [0x3c00, 0xc000, 0x2e66, 0x7bff, 0x7c00, 0, 1, 0x0400, 0x7c00, 0x3c00, 0x3c02]);
  t.equal(float32ToFloat16(Float32Array.of(NaN))[0] & 0x7c00, 0x7c00, 'NaN keeps an all-ones exponent');
});
