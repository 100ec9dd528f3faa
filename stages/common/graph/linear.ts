// Linear layers y = x·Wᵀ + b in the precision the context asks for. Several
// projections reading the same input (q/k/v, gate/up) can be fused into one
// matrix whose output is split again, which saves passes over the activations.
import { takeWeight, type BlockContext } from './context.js';
import { int8WeightLimit } from '../onnx/cpu-features.js';
import { float32ToFloat16, quantizeNBits, quantizePerChannelInt8 } from './quantize.js';

export interface LinearSpec { weight: string; bias?: string }

/** MatMulNBits block size; accuracy level 4 (int8 activations) is the fast path, level 0 is ~700x slower for 8 bits. */
const NBITS_BLOCK = 32;
const NBITS_ACCURACY_LEVEL = 4;

/** One projection. */
export function linear(ctx: BlockContext, x: string, spec: LinearSpec, name: string): string {
  return fusedLinear(ctx, x, [spec], name)[0];
}

/** Several projections of the same input in one matrix multiply; returns one output per spec. */
export function fusedLinear(ctx: BlockContext, x: string, specs: LinearSpec[], name: string): string[] {
  const parts = specs.map((s) => takeWeight(ctx, s.weight));
  const k = parts[0].shape[1];
  for (const [i, p] of parts.entries()) {
    if (p.shape.length !== 2 || p.shape[1] !== k) throw new Error(`${specs[i].weight}: expected [out, ${k}], got [${p.shape}]`);
  }
  const sizes = parts.map((p) => p.shape[0]);
  const n = sizes.reduce((a, b) => a + b, 0);
  const w = concatRows(parts.map((p) => p.data), n * k);
  let y = matmul(ctx, x, w, n, k, name);
  if (specs.some((s) => s.bias)) {
    const b = new Float32Array(n);
    let off = 0;
    for (const [i, s] of specs.entries()) {
      if (s.bias) b.set(takeWeight(ctx, s.bias).data, off);
      off += sizes[i];
    }
    y = ctx.g.op1('Add', [y, ctx.g.initializer(`${name}.bias`, 'float32', [n], b)]);
  }
  if (specs.length === 1) return [y];
  return ctx.g.op('Split', [y, ctx.g.constI64(sizes)], { axis: -1 }, { outputs: specs.length });
}

function concatRows(arrays: Float32Array[], total: number): Float32Array {
  if (arrays.length === 1) return arrays[0];
  const out = new Float32Array(total);
  let off = 0;
  for (const a of arrays) { out.set(a, off); off += a.length; }
  return out;
}

/** x [..., K] times Wᵀ where w is row-major [N, K]. */
function matmul(ctx: BlockContext, x: string, w: Float32Array, n: number, k: number, name: string): string {
  const { g } = ctx;
  switch (ctx.precision) {
    case 'fp32':
      return g.op1('MatMul', [x, g.initializer(`${name}.weight_t`, 'float32', [k, n], transpose(w, n, k))]);
    case 'fp16': {
      const wt = g.initializer(`${name}.weight_t`, 'float16', [k, n], float32ToFloat16(transpose(w, n, k)));
      const x16 = g.op1('Cast', [x], { to: 10 });
      return g.op1('Cast', [g.op1('MatMul', [x16, wt])], { to: 1 });
    }
    case 'int8':
    case 'int4': {
      if (ctx.quantKernel === 'per-channel') return perRowInt8MatMul(ctx, x, quantizePerChannelInt8(w, n, k, int8WeightLimit()), n, k, name);
      const bits = ctx.precision === 'int8' ? 8 : 4;
      const q = quantizeNBits(w, n, k, bits, NBITS_BLOCK);
      const blob = (NBITS_BLOCK * bits) / 8;
      return g.op1('MatMulNBits', [
        x,
        g.initializer(`${name}.qweight`, 'uint8', [n, q.blocksPerRow, blob], q.packed),
        g.initializer(`${name}.scales`, 'float32', [n * q.blocksPerRow], q.scales),
        g.initializer(`${name}.zero_points`, 'uint8', [q.zeroPoints.length], q.zeroPoints),
      ], { K: k, N: n, bits, block_size: NBITS_BLOCK, accuracy_level: NBITS_ACCURACY_LEVEL }, { domain: 'com.microsoft' });
    }
  }
}

/**
 * x [..., K] times int8 per-channel weights, activations quantised per row at run time:
 * q = round(x / s) + 128 as uint8 with s = max|row| / 127 (zero point 128, symmetric), then
 * onnxruntime's MatMulInteger (u8s8 GEMM) and y = int32 · s · wScale. One scale per row keeps every
 * row independent of the others: DynamicQuantizeMatMul's single scale per tensor made a sequence's
 * tokens depend on its batch neighbours (greedy ids of the golden sets changed between a sequence
 * decoded alone and in a batch) and costs accuracy on rows with small values.
 */
function perRowInt8MatMul(ctx: BlockContext, x: string, q: { codes: Int8Array; scales: Float32Array }, n: number, k: number, name: string): string {
  const { g } = ctx;
  const absMax = g.op1('ReduceMax', [g.op1('Abs', [x])], { axes: [-1], keepdims: 1 });
  // an all-zero row gets a tiny scale instead of a division by zero (its codes are all 128)
  const scale = g.op1('Max', [g.op1('Div', [absMax, g.constF(127)]), g.constF(1e-30)]);
  const codes = g.op1('Cast', [g.op1('Clip', [g.op1('Add', [g.op1('Round', [g.op1('Div', [x, scale])]), g.constF(128)]), g.constF(0), g.constF(255)])], { to: 2 });
  const zero = g.initializer(`${name}.x_zero_point`, 'uint8', [], Uint8Array.of(128));
  const acc = g.op1('MatMulInteger', [codes, g.initializer(`${name}.qweight_t`, 'int8', [k, n], q.codes), zero]);
  return g.op1('Mul', [g.op1('Mul', [g.op1('Cast', [acc], { to: 1 }), scale]), g.initializer(`${name}.scales`, 'float32', [n], q.scales)]);
}

/** Row-major [rows, cols] → [cols, rows]. */
export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = w[base + c];
  }
  return out;
}
