// The forced aligner's decoder as one ONNX graph: Qwen3-ASR's decoder layers
// (../qwen3-asr/graph/decoder.ts) over whole sequences with plain causal
// attention (no KV cache: one forward pass, nothing is generated), and the
// classification head applied only at the <timestamp> slots the host names.
//
// Inputs  input_ids     [n, S] int64     rows padded on the right (any id)
//         audio_embeds  [A, hidden]      spliced, in order, where input_ids == audio_token_id
//         slot_index    [K] int64        flat row·S + position of every slot to classify
// Output  slot_logits   [K, classes]
import { causalAttention } from '../../common/graph/attention.js';
import type { BlockContext } from '../../common/graph/context.js';
import { linear } from '../../common/graph/linear.js';
import { decoderLayers, embed, spliceAudio, type DecoderLayerDims } from '../../qwen3-asr/graph/decoder.js';
import { LM_HEAD } from '../../qwen3-asr/graph/names.js';

export const CLASSIFIER_IO = {
  inputIds: 'input_ids',
  audio: 'audio_embeds',
  slotIndex: 'slot_index',
  logits: 'slot_logits',
} as const;

export type ClassifierDims = DecoderLayerDims & { audioTokenId: number; classes: number };

export function buildClassifier(ctx: BlockContext, d: ClassifierDims): void {
  const { g } = ctx;
  const io = CLASSIFIER_IO;
  const ids = g.input(io.inputIds, 'int64', ['batch', 'seq']);
  const audio = g.input(io.audio, 'float32', ['audio_tokens', d.hidden]);
  const slots = g.input(io.slotIndex, 'int64', ['slots']);
  // Every row starts at position 0 (one sequence per row, as the official aligner runs one clip).
  const seqLen = g.op1('Squeeze', [g.op1('Slice', [g.op1('Shape', [ids]), g.constI64([1]), g.constI64([2])])]);
  const positions = g.op1('Expand', [
    g.op1('Unsqueeze', [g.op1('Range', [g.constI64(0), seqLen, g.constI64(1)]), g.constI64([0])]),
    g.op1('Shape', [ids]),
  ]);
  const x = decoderLayers(ctx, d, spliceAudio(ctx, embed(ctx, ids), ids, audio, d), {
    kind: 'heads', positions, attend: (_i, q, k, v) => causalAttention(g, { q, k, v, heads: d.heads, kvHeads: d.kvHeads, headDim: d.headDim }),
  });
  const rows = g.op1('Gather', [g.op1('Reshape', [x, g.constI64([-1, d.hidden])]), slots], { axis: 0 });
  g.output(g.rename(linear(ctx, rows, { weight: LM_HEAD }, 'classifier'), io.logits), 'float32', ['slots', d.classes]);
}
