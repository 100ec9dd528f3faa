// Qwen3-ASR audio encoder (AuT) as one ONNX graph.
//
// Inputs  input_features [C, numMelBins, W]  mel chunks (W = 100, or the whole clip when shorter)
//         row_index      [N] int64        chunk-table row (C·t' rows) of each real token, in output order
//         window_index   [Wn, L] int64    packed token per window slot (padding: any, masked)
//         window_mask    [Wn, L] int32    1 for real tokens
//         token_index    [N] int64        slot of [Wn·L] holding each packed token
// Output  audio_embeds   [N, outputDim]
//
// Chunks carry per-chunk sinusoidal positions; windows of 104 tokens attend
// bidirectionally within themselves (block-diagonal attention). The layers run
// on the N packed tokens, as upstream's packed sequence with cu_seqlens; only
// attention sees padded windows (runner/encoder-plan.ts counts the rows saved).
import { windowedSelfAttention } from '../../common/graph/attention.js';
import type { BlockContext } from '../../common/graph/context.js';
import { convGeluStack } from '../../common/graph/conv.js';
import { linear } from '../../common/graph/linear.js';
import { gelu, geluMlp } from '../../common/graph/mlp.js';
import { layerNorm } from '../../common/graph/norms.js';
import { chunkFrames, chunkTokens, type EncoderDims } from './dims.js';
import { ENC, encLayer } from './names.js';

export const ENCODER_IO = {
  features: 'input_features',
  rowIndex: 'row_index',
  windowIndex: 'window_index',
  windowMask: 'window_mask',
  tokenIndex: 'token_index',
  output: 'audio_embeds',
} as const;

/** pe[t] = concat(sin(t·inv), cos(t·inv)), inv[i] = exp(-i·ln(10000)/(d/2-1)). */
export function sinusoidalPositions(length: number, d: number): Float32Array {
  const half = d / 2;
  const inc = Math.log(10000) / (half - 1);
  const pe = new Float32Array(length * d);
  for (let t = 0; t < length; t++) {
    for (let i = 0; i < half; i++) {
      const a = t * Math.exp(-inc * i);
      pe[t * d + i] = Math.sin(a);
      pe[t * d + half + i] = Math.cos(a);
    }
  }
  return pe;
}

export function buildEncoder(ctx: BlockContext, d: EncoderDims): void {
  const { g } = ctx;
  const io = ENCODER_IO;
  const feats = g.input(io.features, 'float32', ['chunks', d.numMelBins, 'frames']);
  g.input(io.rowIndex, 'int64', ['tokens']);
  g.input(io.windowIndex, 'int64', ['windows', 'window_len']);
  g.input(io.windowMask, 'int32', ['windows', 'window_len']);
  g.input(io.tokenIndex, 'int64', ['tokens']);

  const stem = convGeluStack(ctx, g.op1('Unsqueeze', [feats, g.constI64([1])]), [1, 2, 3].map((i) => ({ prefix: `${ENC}.conv2d${i}`, stride: 2, pad: 1 })));
  // [C, ch, f, t] or [C, f, t, ch] → [C, t, ch·f] (feature index c·f + freq)
  const toTimeMajor = stem.layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1];
  const perTime = g.op1('Reshape', [g.op1('Transpose', [stem.value], { perm: toTimeMajor }), g.constI64([0, 0, -1])]);
  const proj = linear(ctx, perTime, { weight: `${ENC}.conv_out.weight` }, `${ENC}.conv_out`);

  const maxT = chunkTokens(chunkFrames(d));
  const pe = g.initializer(`${ENC}.positions`, 'float32', [maxT, d.dModel], sinusoidalPositions(maxT, d.dModel));
  const tLen = g.op1('Slice', [g.op1('Shape', [proj]), g.constI64([1]), g.constI64([2])]);
  const withPos = g.op1('Add', [proj, g.op1('Slice', [pe, g.constI64([0]), tLen, g.constI64([0])])]);

  const table = g.op1('Reshape', [withPos, g.constI64([-1, d.dModel])]);
  let h = g.op1('Gather', [table, io.rowIndex], { axis: 0 });
  const windows = { index: io.windowIndex, mask: io.windowMask, slots: io.tokenIndex };

  for (let i = 0; i < d.layers; i++) {
    const p = encLayer(i);
    const a = windowedSelfAttention(ctx, layerNorm(ctx, h, `${p}.self_attn_layer_norm`, d.layerNormEps), windows, {
      q: { weight: `${p}.self_attn.q_proj.weight`, bias: `${p}.self_attn.q_proj.bias` },
      k: { weight: `${p}.self_attn.k_proj.weight`, bias: `${p}.self_attn.k_proj.bias` },
      v: { weight: `${p}.self_attn.v_proj.weight`, bias: `${p}.self_attn.v_proj.bias` },
      out: { weight: `${p}.self_attn.out_proj.weight`, bias: `${p}.self_attn.out_proj.bias` },
    }, d.heads, `${p}.self_attn`);
    h = g.op1('Add', [h, a]);
    const m = geluMlp(ctx, layerNorm(ctx, h, `${p}.final_layer_norm`, d.layerNormEps),
      { weight: `${p}.fc1.weight`, bias: `${p}.fc1.bias` }, { weight: `${p}.fc2.weight`, bias: `${p}.fc2.bias` }, `${p}.mlp`);
    h = g.op1('Add', [h, m]);
  }

  const normed = layerNorm(ctx, h, `${ENC}.ln_post`, d.layerNormEps);
  const p1 = gelu(ctx, linear(ctx, normed, { weight: `${ENC}.proj1.weight`, bias: `${ENC}.proj1.bias` }, `${ENC}.proj1`));
  const out = linear(ctx, p1, { weight: `${ENC}.proj2.weight`, bias: `${ENC}.proj2.bias` }, `${ENC}.proj2`);
  g.op1('Identity', [out], {}, { output: io.output });
  g.output(io.output, 'float32', ['tokens', d.outputDim]);
}
