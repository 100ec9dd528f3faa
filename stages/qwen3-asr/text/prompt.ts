// Prompt ids for one audio segment, exactly as qwen-asr renders its chat
// template (system turn = context, user turn = the audio, generation prompt)
// and tokenizes it: the text between special tokens is BPE-encoded as a whole,
// so the ids match what Qwen2TokenizerFast gives for the rendered string.
import { StageError } from '../../../src/runtime/contracts.js';
import { ASR_TEXT_TAG } from './parse.js';
import type { QwenTokenizer } from './tokenizer.js';

export const AUDIO_PAD = '<|audio_pad|>';
export const ERR_INVALID_PROMPT = 'ERR_INVALID_PROMPT';

export interface PromptInput {
  /** Background text for the system turn (the request's `prompt`); '' for none. */
  context: string;
  /** Audio tokens the encoder produced for the segment: one <|audio_pad|> each. */
  audioTokens: number;
  /** Canonical language name to force (`language X<asr_text>` is appended), or undefined to let the model say. */
  language?: string;
  /** Forced start of the answer (answer-prefix.ts), rendered after the generation prompt and any language header. */
  answer?: string;
}

/** The rendered prompt with a single <|audio_pad|> standing for the whole audio. */
export function promptText(context: string, language?: string, answer = ''): string {
  return `<|im_start|>system\n${context}<|im_end|>\n`
    + `<|im_start|>user\n<|audio_start|>${AUDIO_PAD}<|audio_end|><|im_end|>\n`
    + `<|im_start|>assistant\n`
    + (language ? `language ${language}${ASR_TEXT_TAG}` : '')
    + answer;
}

export class PromptBuilder {
  private readonly audioPadId: number;

  constructor(private readonly tokenizer: QwenTokenizer) {
    this.audioPadId = tokenizer.requireTokenId(AUDIO_PAD);
  }

  build(input: PromptInput): Int32Array {
    if (!(Number.isInteger(input.audioTokens) && input.audioTokens > 0)) {
      throw new StageError(ERR_INVALID_PROMPT, `a segment needs a whole number of audio tokens > 0, got ${input.audioTokens}`, 'internal');
    }
    // Control-token text in the context would end the system turn early or fake audio slots.
    if (this.tokenizer.encode(input.context).some((id) => this.tokenizer.isAddedToken(id))) {
      throw new StageError(ERR_INVALID_PROMPT, 'prompt must not contain control tokens such as <|im_end|> or <|audio_pad|>', 'invalid_input', 'prompt');
    }
    const ids = this.tokenizer.encode(promptText(input.context, input.language, input.answer));
    const pad = ids.indexOf(this.audioPadId);
    const out = new Int32Array(ids.length - 1 + input.audioTokens);
    out.set(ids.slice(0, pad));
    out.fill(this.audioPadId, pad, pad + input.audioTokens);
    out.set(ids.slice(pad + 1), pad + input.audioTokens);
    return out;
  }
}
