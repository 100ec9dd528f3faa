// Qwen3 text decoder (the ASR "thinker" LLM) as one ONNX graph that serves
// prefill chunks and batched decode steps alike.
//
// Inputs  input_ids      [n, S] int64
//         audio_embeds   [A, hidden]          spliced, in order, where input_ids == audio_token_id
//         past_len       [n] int64            tokens each row already holds in the cache
//         past_key_i / past_value_i [n, kvHeads, stride, headDim]  host-owned cache views (or copies of their first positions)
// Outputs logits         [n, vocab]           last position of each row
//         new_key_i / new_value_i   [n, kvHeads, S, headDim]  (keys rotated) for the host to store
//     or  present_key_i / present_value_i  the cache views again, updated in place (DecoderCache.inPlace)
// The cache's element type (float32, or float16 for half the memory) is the
// graph's: past_key_i's declared type, which the runner reads.
import { applyRotary, rotaryTables, type RotaryTables } from '../../common/graph/rotary.js';
import { cacheInput, cacheOutput, cachedAttention, causalCacheMask, inPlaceAttention, inPlaceLengths, type KvCacheType } from '../../common/graph/attention.js';
import { takeWeight, type BlockContext } from '../../common/graph/context.js';
import { fusedLinear, linear } from '../../common/graph/linear.js';
import { swiGluMlp } from '../../common/graph/mlp.js';
import { rmsNorm, skipRmsNorm } from '../../common/graph/norms.js';
import type { DecoderDims } from './dims.js';
import { DEC, EMBED, decLayer } from './names.js';

export const DECODER_IO = {
  inputIds: 'input_ids',
  audio: 'audio_embeds',
  pastLen: 'past_len',
  logits: 'logits',
  pastKey: (i: number) => `past_key_${i}`,
  pastValue: (i: number) => `past_value_${i}`,
  newKey: (i: number) => `new_key_${i}`,
  newValue: (i: number) => `new_value_${i}`,
  presentKey: (i: number) => `present_key_${i}`,
  presentValue: (i: number) => `present_value_${i}`,
} as const;

/**
 * The host's KV cache as the graph sees it: its element type, and whether the graph updates it in
 * place (GroupQueryAttention, float32 only: the runner binds present_key_i to past_key_i's buffer)
 * or returns the new keys/values for the host to store. The runner reads both back from the graph.
 */
export interface DecoderCache { type: KvCacheType; inPlace: boolean }

export function buildDecoder(ctx: BlockContext, d: DecoderDims, cache: DecoderCache = { type: 'float32', inPlace: false }): void {
  const { g } = ctx;
  const io = DECODER_IO;
  const ids = g.input(io.inputIds, 'int64', ['batch', 'seq']);
  const audio = g.input(io.audio, 'float32', ['audio_tokens', d.hidden]);
  const pastLen = g.input(io.pastLen, 'int64', ['batch']);
  const seqLen = g.op1('Squeeze', [g.op1('Slice', [g.op1('Shape', [ids]), g.constI64([1]), g.constI64([2])])]);
  const cacheShape = ['batch', d.kvHeads, 'stride', d.headDim];
  const h = spliceAudio(ctx, embed(ctx, ids), ids, audio, d);
  const layerDims = { heads: d.heads, kvHeads: d.kvHeads };
  let x: string;
  if (cache.inPlace) {
    if (cache.type !== 'float32') throw new RangeError(`an in-place KV cache is float32 (got ${cache.type})`);
    const lengths = inPlaceLengths(g, pastLen, seqLen);
    x = decoderLayers(ctx, d, h, {
      kind: 'fused',
      attend: (i, q, k, v, rope) => {
        const [presentK, presentV] = [io.presentKey(i), io.presentValue(i)].map((n) => g.output(n, 'float32', cacheShape));
        const [pastK, pastV] = [io.pastKey(i), io.pastValue(i)].map((n) => g.input(n, 'float32', cacheShape));
        return inPlaceAttention(g, { q, k, v, pastK, pastV, presentK, presentV, lengths, cos: rope.cos, sin: rope.sin, ...layerDims });
      },
    });
  } else {
    const positions = g.op1('Add', [
      g.op1('Unsqueeze', [pastLen, g.constI64([1])]),
      g.op1('Unsqueeze', [g.op1('Range', [g.constI64(0), seqLen, g.constI64(1)]), g.constI64([0])]),
    ]);
    const past = Array.from({ length: d.layers }, (_, i) => ({
      k: cacheInput(g, io.pastKey(i), cache.type, cacheShape), v: cacheInput(g, io.pastValue(i), cache.type, cacheShape),
    }));
    const mask = causalCacheMask(g, pastLen, seqLen, io.pastKey(0), d.heads / d.kvHeads);
    const newShape = ['batch', d.kvHeads, 'seq', d.headDim];
    x = decoderLayers(ctx, d, h, {
      kind: 'heads', positions,
      attend: (i, q, k, v) => {
        // the new keys/values leave the graph under their own names (an Identity per output was 56 kernels at 0.6B)
        const newK = cacheOutput(g, k, io.newKey(i), cache.type, newShape);
        const newV = cacheOutput(g, v, io.newValue(i), cache.type, newShape);
        return cachedAttention(g, { q, k: newK, v: newV, pastK: past[i].k, pastV: past[i].v, mask, headDim: d.headDim, ...layerDims });
      },
    });
  }
  const last = g.op1('Gather', [x, g.constI64(-1)], { axis: 1 });
  g.output(g.rename(linear(ctx, last, { weight: d.head }, 'lm_head'), io.logits), 'float32', ['batch', d.vocabSize]);
}

/**
 * How a layer attends. 'heads': `attend(i, q, k, v)` gets normed queries [n, heads, S, headDim] and
 * keys rotated at `positions` [n, S], and values [n, kvHeads, S, headDim] (the host-cache decoder;
 * plain causal in the forced aligner). 'fused': `attend(i, q, k, v, rope)` gets normed, unrotated
 * queries [n, S, heads*headDim] and keys, and values [n, S, kvHeads*headDim], for a kernel that
 * rotates them itself (GroupQueryAttention). Either returns [n, S, heads*headDim].
 */
export type LayerAttention =
  | { kind: 'heads'; positions: string; attend: (layer: number, q: string, k: string, v: string) => string }
  | { kind: 'fused'; attend: (layer: number, q: string, k: string, v: string, rope: RotaryTables) => string };

/** The Qwen3 decoder layers over embeddings `h` [n, S, hidden]; returns the final-normed hidden states. */
export function decoderLayers(ctx: BlockContext, d: DecoderLayerDims, h: string, attention: LayerAttention): string {
  const { g } = ctx;
  const rope = rotaryTables(g, 'rope', d.ropeTheta, d.headDim, d.maxPositions);
  const reshape = (t: string, shape: number[]) => g.op1('Reshape', [t, g.constI64(shape)]);
  const bnsh = (t: string) => g.op1('Transpose', [t], { perm: [0, 2, 1, 3] });
  let x = rmsNorm(ctx, h, `${decLayer(0)}.input_layernorm.weight`, d.rmsNormEps);
  for (let i = 0; i < d.layers; i++) {
    const p = decLayer(i);
    const [q, k, v] = fusedLinear(ctx, x, ['q', 'k', 'v'].map((n) => ({ weight: `${p}.self_attn.${n}_proj.weight` })), `${p}.qkv`);
    // per-head RMSNorm on [n, S, heads, hd]
    const headNorm = (t: string, which: 'q' | 'k', heads: number) =>
      rmsNorm(ctx, reshape(t, [0, 0, heads, d.headDim]), `${p}.self_attn.${which}_norm.weight`, d.rmsNormEps);
    let att: string;
    if (attention.kind === 'heads') {
      // heads first, then rotary in its 4-D form
      const rotated = (t: string) => applyRotary(g, bnsh(t), attention.positions, rope);
      att = attention.attend(i, rotated(headNorm(q, 'q', d.heads)), rotated(headNorm(k, 'k', d.kvHeads)), bnsh(reshape(v, [0, 0, d.kvHeads, d.headDim])));
    } else {
      const flat = (t: string) => reshape(t, [0, 0, -1]);
      att = attention.attend(i, flat(headNorm(q, 'q', d.heads)), flat(headNorm(k, 'k', d.kvHeads)), v, rope);
    }
    const o = linear(ctx, att, { weight: `${p}.self_attn.o_proj.weight` }, `${p}.o_proj`);
    const mid = skipRmsNorm(ctx, o, h, `${p}.post_attention_layernorm.weight`, d.rmsNormEps);
    const m = swiGluMlp(ctx, mid.normed, { weight: `${p}.mlp.gate_proj.weight` }, { weight: `${p}.mlp.up_proj.weight` },
      { weight: `${p}.mlp.down_proj.weight` }, `${p}.mlp`);
    const nextNorm = i + 1 < d.layers ? `${decLayer(i + 1)}.input_layernorm.weight` : `${DEC}.norm.weight`;
    const end = skipRmsNorm(ctx, m, mid.sum, nextNorm, d.rmsNormEps);
    h = end.sum;
    x = end.normed;
  }
  return x;
}

/** What the layers read of the decoder dims. */
export type DecoderLayerDims = Pick<DecoderDims, 'hidden' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'rmsNormEps' | 'ropeTheta' | 'maxPositions'>;

export function embed(ctx: BlockContext, ids: string): string {
  const w = takeWeight(ctx, EMBED);
  return ctx.g.op1('Gather', [ctx.g.initializer('embed_tokens', 'float32', w.shape, w.data), ids], { axis: 0 });
}

/**
 * Replaces the embeddings of audio_token_id positions, in order, by the rows of `audio`.
 * Audio-token positions past the last row keep their token embedding: a decode step
 * carries no audio, and a sampled audio_pad is an ordinary token there (as upstream,
 * where audio features are scattered only into the prompt).
 */
export function spliceAudio(ctx: BlockContext, emb: string, ids: string, audio: string, d: Pick<DecoderDims, 'audioTokenId' | 'hidden'>): string {
  const { g } = ctx;
  const isAudioToken = g.op1('Reshape', [g.op1('Equal', [ids, g.constI64(d.audioTokenId)]), g.constI64([-1])]);
  const order = g.op1('Sub', [g.op1('CumSum', [g.op1('Cast', [isAudioToken], { to: 7 }), g.constI64(0)]), g.constI64(1)]);
  const audioRows = g.op1('Slice', [g.op1('Shape', [audio]), g.constI64([0]), g.constI64([1])]);
  const takesRow = g.op1('And', [isAudioToken, g.op1('Less', [order, audioRows])]);
  const rowIndex = g.op1('Where', [takesRow, order, audioRows]);
  const table = g.op1('Concat', [audio, g.constF(new Array(d.hidden).fill(0), [1, d.hidden])], { axis: 0 });
  const rows = g.op1('Reshape', [g.op1('Gather', [table, rowIndex], { axis: 0 }), g.op1('Shape', [emb])]);
  const takesRowShaped = g.op1('Unsqueeze', [g.op1('Reshape', [takesRow, g.op1('Shape', [ids])]), g.constI64([-1])]);
  return g.op1('Where', [takesRowShaped, rows, emb]);
}
