// Convolution stems: stacks of 2-D convolutions with a GELU after each.
//
// At fp32 (and fp16) each layer is onnxruntime's Conv, exact. With the per-channel int8 kernel the
// layers run channels-last as im2col + MatMulInteger: the input quantised to uint8 with one scale
// per image, k·k strided slices of it concatenated into rows of kernel-window pixels, one u8s8 GEMM
// against the per-channel int8 weights. One scale per image keeps each image's output independent of
// the images batched with it, which an encoder that reuses outputs by their input's fingerprint
// relies on (one scale per batch would not). Measured 1 Dec (2-core AVX-512 VNNI EPYC, 480→480
// channels, 3x3 stride 2, ten 64x50 images, the Qwen3-ASR stem's middle layer): Conv fp32 192 ms, this 94 ms
// (the GEMM 52 of it); onnxruntime's ConvInteger 165 ms with uint8 weights and 578 ms with int8;
// the same im2col in NCHW 333 ms (strided slices and transposes of planes).
import { takeWeight, type BlockContext } from './context.js';
import { gelu } from './mlp.js';
import { int8WeightLimit } from '../onnx/cpu-features.js';
import { transpose } from './linear.js';
import { quantizePerChannelInt8 } from './quantize.js';

export interface ConvSpec { prefix: string; stride: number; pad: number }
/** The stack's output and its axis order: [N, C, H, W] or [N, H, W, C]. */
export interface ConvStackOutput { value: string; layout: 'nchw' | 'nhwc' }

/** Window rows shorter than this stay fp32 (the first layer over one-channel features: 9), where
 * writing the output, not multiplying, is the cost and the input is the raw features. */
const QUANTISE_MIN_WINDOW = 64;

/** x [N, Cin, H, W] through conv→GELU for each spec (weights `${prefix}.weight/.bias`). */
export function convGeluStack(ctx: BlockContext, x: string, specs: ConvSpec[]): ConvStackOutput {
  if (ctx.quantKernel === 'per-channel' && (ctx.precision === 'int8' || ctx.precision === 'int4')) {
    let h = ctx.g.op1('Transpose', [x], { perm: [0, 2, 3, 1] });
    for (const s of specs) h = gelu(ctx, im2colConv(ctx, h, s));
    return { value: h, layout: 'nhwc' };
  }
  let h = x;
  for (const s of specs) {
    const w = takeWeight(ctx, `${s.prefix}.weight`);
    const b = takeWeight(ctx, `${s.prefix}.bias`);
    h = gelu(ctx, ctx.g.op1('Conv', [
      h,
      ctx.g.initializer(`${s.prefix}.weight`, 'float32', w.shape, w.data),
      ctx.g.initializer(`${s.prefix}.bias`, 'float32', b.shape, b.data),
    ], { kernel_shape: w.shape.slice(2), strides: [s.stride, s.stride], pads: [s.pad, s.pad, s.pad, s.pad] }));
  }
  return { value: h, layout: 'nchw' };
}

/** One channels-last convolution [N, H, W, Cin] → [N, Ho, Wo, Cout] as im2col and a matrix multiply. */
function im2colConv(ctx: BlockContext, x: string, s: ConvSpec): string {
  const { g } = ctx;
  const w = takeWeight(ctx, `${s.prefix}.weight`);
  const bias = g.initializer(`${s.prefix}.bias`, 'float32', [w.shape[0]], takeWeight(ctx, `${s.prefix}.bias`).data);
  const [cout, cin, kh, kw] = w.shape;
  const k = cin * kh * kw;
  // rows in the order the slices are concatenated: (dy, dx, input channel)
  const rows = new Float32Array(cout * k);
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      for (let t = 0; t < kh * kw; t++) rows[o * k + t * cin + c] = w.data[(o * cin + c) * kh * kw + t];
    }
  }
  if (k < QUANTISE_MIN_WINDOW) {
    const cols = im2col(ctx, x, kh, kw, s, g.constF(0));
    return g.op1('Add', [g.op1('MatMul', [cols, g.initializer(`${s.prefix}.weight_t`, 'float32', [k, cout], transpose(rows, cout, k))]), bias]);
  }
  // one symmetric scale per image: max|x| / 127, zero point 128 (an all-zero image gets a tiny scale)
  const absMax = g.op1('Max', [g.op1('ReduceMax', [x], { axes: [1, 2, 3], keepdims: 0 }), g.op1('Neg', [g.op1('ReduceMin', [x], { axes: [1, 2, 3], keepdims: 0 })])]);
  const scale = g.op1('Max', [g.op1('Div', [absMax, g.constF(127)]), g.constF(1e-30)]);
  const zero = g.initializer(`${s.prefix}.x_zero_point`, 'uint8', [], Uint8Array.of(128));
  const codes = g.op1('QuantizeLinear', [x, scale, g.op1('Expand', [zero, g.op1('Shape', [scale])])], { axis: 0 });
  const q = quantizePerChannelInt8(rows, cout, k, int8WeightLimit());
  const acc = g.op1('MatMulInteger', [im2col(ctx, codes, kh, kw, s, zero), g.initializer(`${s.prefix}.qweight_t`, 'int8', [k, cout], q.codes), zero]);
  const perImage = g.op1('Unsqueeze', [scale, g.constI64([1, 2, 3])]);
  const y = g.op1('Mul', [g.op1('Mul', [g.op1('Cast', [acc], { to: 1 }), perImage]), g.initializer(`${s.prefix}.scales`, 'float32', [cout], q.scales)]);
  return g.op1('Add', [y, bias]);
}

/** [N, H, W, C] → [N, Ho, Wo, kh·kw·C]: the padded input's kh·kw strided windows side by side. */
function im2col(ctx: BlockContext, x: string, kh: number, kw: number, s: ConvSpec, padValue: string): string {
  const { g } = ctx;
  const padded = g.op1('Pad', [x, g.constI64([0, s.pad, s.pad, 0, 0, s.pad, s.pad, 0]), padValue]);
  // From offset d, stepping by the stride, up to k-1-d before the padded end: exactly the output length.
  const end = (d: number, size: number) => (d - (size - 1) < 0 ? d - (size - 1) : Number.MAX_SAFE_INTEGER);
  const slices: string[] = [];
  for (let dy = 0; dy < kh; dy++) {
    for (let dx = 0; dx < kw; dx++) {
      slices.push(g.op1('Slice', [padded, g.constI64([dy, dx]), g.constI64([end(dy, kh), end(dx, kw)]), g.constI64([1, 2]), g.constI64([s.stride, s.stride])]));
    }
  }
  return g.op1('Concat', slices, { axis: 3 });
}
