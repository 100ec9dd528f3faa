// Convolution stems: stacks of 2-D convolutions with a GELU after each.
import { takeWeight, type BlockContext } from './context.js';
import { gelu } from './mlp.js';

export interface ConvSpec { prefix: string; stride: number; pad: number }

/** x [N, Cin, H, W] through conv→GELU for each spec (weights `${prefix}.weight/.bias`). */
export function convGeluStack(ctx: BlockContext, x: string, specs: ConvSpec[]): string {
  const { g } = ctx;
  let h = x;
  for (const s of specs) {
    const w = takeWeight(ctx, `${s.prefix}.weight`);
    const b = takeWeight(ctx, `${s.prefix}.bias`);
    const conv = g.op1('Conv', [
      h,
      g.initializer(`${s.prefix}.weight`, 'float32', w.shape, w.data),
      g.initializer(`${s.prefix}.bias`, 'float32', b.shape, b.data),
    ], { kernel_shape: w.shape.slice(2), strides: [s.stride, s.stride], pads: [s.pad, s.pad, s.pad, s.pad] });
    h = gelu(ctx, conv);
  }
  return h;
}
