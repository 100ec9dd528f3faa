// Feed-forward blocks: GELU MLP (Whisper-style encoders) and SwiGLU (Qwen/Llama decoders).
import type { BlockContext } from './context.js';
import { fusedLinear, linear, type LinearSpec } from './linear.js';

/** Exact (erf) GELU. */
export function gelu(ctx: BlockContext, x: string): string {
  return ctx.g.op1('Gelu', [x], {}, { domain: 'com.microsoft' });
}

export function geluMlp(ctx: BlockContext, x: string, fc1: LinearSpec, fc2: LinearSpec, name: string): string {
  return linear(ctx, gelu(ctx, linear(ctx, x, fc1, `${name}.fc1`)), fc2, `${name}.fc2`);
}

/** down(silu(gate(x)) * up(x)), gate and up fused into one matrix multiply. */
export function swiGluMlp(ctx: BlockContext, x: string, gate: LinearSpec, up: LinearSpec, down: LinearSpec, name: string): string {
  const { g } = ctx;
  const [gx, ux] = fusedLinear(ctx, x, [gate, up], `${name}.gate_up`);
  const silu = g.op1('Mul', [gx, g.op1('Sigmoid', [gx])]);
  return linear(ctx, g.op1('Mul', [silu, ux]), down, `${name}.down`);
}
