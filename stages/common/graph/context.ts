// What every block builder needs: the graph under construction, a source of
// float32 weights (loading stays apart from building), and the precision that
// linear layers are stored in.
import type { GraphBuilder } from '../onnx/graph-builder.js';

export type LinearPrecision = 'fp32' | 'fp16' | 'int8' | 'int4';

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
