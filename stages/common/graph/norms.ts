// Normalisation blocks. LayerNorm uses the standard ONNX op; RMSNorm uses
// onnxruntime's SimplifiedLayerNormalization (registered in the ONNX domain),
// whose CPU kernel accumulates in fp32 as the reference model does.
import { takeWeight, type BlockContext } from './context.js';

export function layerNorm(ctx: BlockContext, x: string, prefix: string, eps: number): string {
  const { g } = ctx;
  const w = takeWeight(ctx, `${prefix}.weight`);
  const b = takeWeight(ctx, `${prefix}.bias`);
  return g.op1('LayerNormalization', [
    x,
    g.initializer(`${prefix}.weight`, 'float32', w.shape, w.data),
    g.initializer(`${prefix}.bias`, 'float32', b.shape, b.data),
  ], { axis: -1, epsilon: { float: eps } });
}

/** RMSNorm over the last axis with a learned scale. */
export function rmsNorm(ctx: BlockContext, x: string, weight: string, eps: number): string {
  const { g } = ctx;
  const w = takeWeight(ctx, weight);
  return g.op1('SimplifiedLayerNormalization', [x, g.initializer(weight, 'float32', w.shape, w.data)], {
    axis: -1, epsilon: { float: eps },
  });
}

/** (x + residual, RMSNorm(x + residual)) in one fused kernel. */
export function skipRmsNorm(ctx: BlockContext, x: string, residual: string, weight: string, eps: number): { sum: string; normed: string } {
  const { g } = ctx;
  const w = takeWeight(ctx, weight);
  const [normed, , , sum] = g.op('SkipSimplifiedLayerNormalization', [x, residual, g.initializer(weight, 'float32', w.shape, w.data)], {
    epsilon: { float: eps },
  }, { domain: 'com.microsoft', outputs: 4 });
  return { sum, normed };
}
