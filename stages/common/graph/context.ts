// What every block builder needs: the graph under construction, a source of
// float32 weights (loading stays apart from building), the precision that
// linear layers are stored in, and for int8/int4 which kernel multiplies.
import type { GraphBuilder } from '../onnx/graph-builder.js';

export type LinearPrecision = 'fp32' | 'fp16' | 'int8' | 'int4';

/**
 * The kernel of a quantised graph's linear layers. 'blockwise': onnxruntime's MatMulNBits with
 * the precision's bits in blocks of 32 and int8 activations per block (accuracy level 4).
 * 'per-channel': MatMulInteger, int8 weights with one scale per output channel and activations
 * quantised per row at run time (onnxruntime's u8s8 GEMM, VNNI where present; issue 18 measured
 * DynamicQuantizeMatMul, the same GEMM, at 2.2x MatMulNBits' rate at prefill shapes). Per-channel stores int8 whatever
 * the precision, so an int4 graph built with it holds int8 weights.
 */
export type QuantKernel = 'blockwise' | 'per-channel';
export const QUANT_KERNELS: readonly QuantKernel[] = ['blockwise', 'per-channel'];

export interface WeightSource {
  has(name: string): boolean;
  shape(name: string): number[];
  /** A float32 copy of the tensor (callers may modify it). */
  float32(name: string): Float32Array;
}

export interface BlockContext {
  g: GraphBuilder;
  weights: WeightSource;
  precision: LinearPrecision;
  /** int8/int4 only; 'blockwise' when absent. */
  quantKernel?: QuantKernel;
  /** Called after each weight tensor is consumed, with its element count. */
  onWeight?: (name: string, elements: number) => void;
}

/** Reads one weight through the context so progress is reported once per tensor. */
export function takeWeight(ctx: BlockContext, name: string): { data: Float32Array; shape: number[] } {
  const data = ctx.weights.float32(name);
  const shape = ctx.weights.shape(name);
  ctx.onWeight?.(name, data.length);
  return { data, shape };
}
