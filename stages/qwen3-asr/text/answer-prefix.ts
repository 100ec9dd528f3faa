// The forced start of an answer (request `answer_prefix`), as the official
// qwen-asr streaming builds it (Qwen3ASRModel.streaming_transcribe): the
// previous output is tokenized on its own, its last `unfixed` tokens are dropped
// (at least one token is kept, as its `max(1, len(ids) - unfixed_token_num)`),
// the kept ids are decoded back to text, and that text is appended to the
// rendered prompt (after `<|im_start|>assistant\n`, or after `language
// X<asr_text>` when the language is forced), the whole string then tokenized as
// one. One deliberate difference: where the cut falls inside a character (a
// byte-level token holding half of it), the official decode forces U+FFFD into
// the prompt; here the cut moves back to the character's start instead.
import { StageError } from '../../../src/runtime/contracts.js';
import { ERR_INVALID_PARAM } from '../../common/engine/errors.js';
import type { QwenTokenizer } from './tokenizer.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function completeCharacters(tokenizer: QwenTokenizer, ids: number[]): boolean {
  try {
    strictUtf8.decode(Uint8Array.from(ids.flatMap((id) => tokenizer.tokenBytes(id))));
    return true;
  } catch {
    return false;
  }
}

/**
 * The text to force: `prefix` less its last `unfixed` tokens. Special tokens are refused (they
 * would close the assistant turn or fake audio); other added tokens such as <asr_text> pass,
 * as the official raw output carries it: whatever a result's text holds can be sent back.
 */
export function answerPrefixText(tokenizer: QwenTokenizer, prefix: string, unfixed: number): string {
  const ids = tokenizer.encode(prefix);
  const control = ids.find((id) => tokenizer.isSpecial(id));
  if (control !== undefined) {
    throw new StageError(ERR_INVALID_PARAM, `answer_prefix must not contain control tokens such as ${tokenizer.decode([control])}`, 'invalid_input', 'answer_prefix');
  }
  if (ids.length === 0) return '';
  let keep = Math.max(1, ids.length - unfixed);
  while (keep > 0 && !completeCharacters(tokenizer, ids.slice(0, keep))) keep--;
  return tokenizer.decode(ids.slice(0, keep));
}
