// Which tensor is the decoder's output head, decided as the official code
// decides it. Released checkpoints set tie_word_embeddings and still store a
// `lm_head.weight` (156M-311M parameters); with the flag set the official code
// never reads it:
//  - original layout: vLLM's Qwen3ForCausalLM sets lm_head = embed_tokens and
//    skips `lm_head.*` weights; qwen-asr on transformers 4.57 ties the two after
//    loading, so embed_tokens wins whatever lm_head holds.
//  - "-hf" layout: transformers 5 ties lm_head to embed_tokens, except when the
//    checkpoint stores both with different values: then it warns and keeps them
//    apart (modeling_utils tie_weights), so a differing lm_head is the head.
// Untied, the stored lm_head is the head; a checkpoint without one is refused
// (transformers would fill it with random values).
import { StageError } from '../../../src/runtime/contracts.js';
import type { Qwen3AsrConfig } from '../config.js';
import { EMBED, LM_HEAD } from './names.js';

export type OutputHead = typeof EMBED | typeof LM_HEAD;

/** The checkpoint access the decision needs, in stored tensor names. */
export interface HeadSource {
  has(name: string): boolean;
  sameBytes(a: string, b: string): boolean;
}

export function outputHead(cfg: Qwen3AsrConfig, ckpt: HeadSource): OutputHead {
  const head = cfg.tensorName(LM_HEAD);
  const stored = ckpt.has(head);
  if (!cfg.text.tieWordEmbeddings) {
    if (!stored) throw new StageError('ERR_MODEL_CONFIG', `tie_word_embeddings is false but the checkpoint has no ${head}`, 'internal');
    return LM_HEAD;
  }
  if (cfg.layout === 'hf' && stored && !ckpt.sameBytes(head, cfg.tensorName(EMBED))) return LM_HEAD;
  return EMBED;
}
