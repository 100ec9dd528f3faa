// Qwen3 text decoder (the ASR "thinker" LLM) as one ONNX graph that serves
// prefill chunks and batched decode steps alike.
//
// Inputs  input_ids      [n, S] int64
//         audio_embeds   [A, hidden]          spliced, in order, where input_ids == audio_token_id
//         past_len       [n] int64            tokens each row already holds in the cache
//         past_key_i / past_value_i [n, kvHeads, stride, headDim]  host-owned cache views
// Outputs logits         [n, vocab]           last position of each row
//         new_key_i / new_value_i   [n, kvHeads, S, headDim]  (keys rotated) for the host to store
// The cache's element type (float32, or float16 for half the memory) is the
// graph's: past_key_i's declared type, which the runner reads.
import { applyRotary, rotaryTables } from '../../common/graph/rotary.js';
import { cacheInput, cacheOutput, cachedAttention, causalCacheMask, type KvCacheType } from '../../common/graph/attention.js';
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
} as const;

/** `kv`: element type of the host's cache (the runner reads it back from the past_key_0 input). */
export function buildDecoder(ctx: BlockContext, d: DecoderDims, kv: KvCacheType = 'float32'): void {
  const { g } = ctx;
  const io = DECODER_IO;
  const ids = g.input(io.inputIds, 'int64', ['batch', 'seq']);
  const audio = g.input(io.audio, 'float32', ['audio_tokens', d.hidden]);
  const pastLen = g.input(io.pastLen, 'int64', ['batch']);

  const seqLen = g.op1('Squeeze', [g.op1('Slice', [g.op1('Shape', [ids]), g.constI64([1]), g.constI64([2])])]);
  const positions = g.op1('Add', [
    g.op1('Unsqueeze', [pastLen, g.constI64([1])]),
    g.op1('Unsqueeze', [g.op1('Range', [g.constI64(0), seqLen, g.constI64(1)]), g.constI64([0])]),
  ]);
  const cacheShape = ['batch', d.kvHeads, 'stride', d.headDim];
  const past = Array.from({ length: d.layers }, (_, i) => ({
    k: cacheInput(g, io.pastKey(i), kv, cacheShape), v: cacheInput(g, io.pastValue(i), kv, cacheShape),
  }));
  const mask = causalCacheMask(g, pastLen, seqLen, io.pastKey(0), d.heads / d.kvHeads);
  const newShape = ['batch', d.kvHeads, 'seq', d.headDim];

  const x = decoderLayers(ctx, d, spliceAudio(ctx, embed(ctx, ids), ids, audio, d), positions, (i, q, k, v) => {
    // the new keys/values leave the graph under their own names (an Identity per output was 56 kernels at 0.6B)
    const newK = cacheOutput(g, k, io.newKey(i), kv, newShape);
    const newV = cacheOutput(g, v, io.newValue(i), kv, newShape);
    return cachedAttention(g, { q, k: newK, v: newV, pastK: past[i].k, pastV: past[i].v, mask, heads: d.heads, kvHeads: d.kvHeads, headDim: d.headDim });
  });
  const last = g.op1('Gather', [x, g.constI64(-1)], { axis: 1 });
  g.output(g.rename(linear(ctx, last, { weight: d.head }, 'lm_head'), io.logits), 'float32', ['batch', d.vocabSize]);
}

/**
 * The Qwen3 decoder layers over embeddings `h` [n, S, hidden] at `positions` [n, S]; `attend(i, q, k, v)`
 * is layer i's attention over its normed, rotated queries [n, heads, S, headDim] and keys and its
 * values [n, kvHeads, S, headDim] (cached here; plain causal in the forced aligner), returning
 * [n, S, heads*headDim]. Returns the final-normed hidden states.
 */
export function decoderLayers(ctx: BlockContext, d: DecoderLayerDims, h: string, positions: string,
  attend: (layer: number, q: string, k: string, v: string) => string): string {
  const { g } = ctx;
  const rope = rotaryTables(g, 'rope', d.ropeTheta, d.headDim, d.maxPositions);
  const toHeads = (t: string, heads: number) => g.op1('Reshape', [t, g.constI64([0, 0, heads, d.headDim])]);
  const bnsh = (t: string) => g.op1('Transpose', [t], { perm: [0, 2, 1, 3] });
  let x = rmsNorm(ctx, h, `${decLayer(0)}.input_layernorm.weight`, d.rmsNormEps);
  for (let i = 0; i < d.layers; i++) {
    const p = decLayer(i);
    const [q, k, v] = fusedLinear(ctx, x, ['q', 'k', 'v'].map((n) => ({ weight: `${p}.self_attn.${n}_proj.weight` })), `${p}.qkv`);
    // per-head RMSNorm on [n, S, heads, hd], then heads first, then rotary in its 4-D form
    const headNorm = (t: string, which: 'q' | 'k', heads: number) =>
      applyRotary(g, bnsh(rmsNorm(ctx, toHeads(t, heads), `${p}.self_attn.${which}_norm.weight`, d.rmsNormEps)), positions, rope);
    const att = attend(i, headNorm(q, 'q', d.heads), headNorm(k, 'k', d.kvHeads), bnsh(toHeads(v, d.kvHeads)));
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
