// The aligner's input ids, as qwen-asr's encode_timestamp builds the text
// (no chat markup): <|audio_start|><|audio_pad|><|audio_end|> then every word
// followed by <timestamp><timestamp> (its start and end slots), tokenized as
// one string, with the audio pad expanded to the clip's audio tokens.
import { StageError } from '../../../src/runtime/contracts.js';
import type { QwenTokenizer } from '../../qwen3-asr/text/tokenizer.js';
import { AUDIO_PAD } from '../../qwen3-asr/text/prompt.js';

const TIMESTAMP = '<timestamp>';

export interface AlignerPrompt {
  ids: Int32Array;
  /** Positions of the <timestamp> slots: 2 per word (start, end). */
  slots: Int32Array;
}

export class AlignerPromptBuilder {
  private readonly audioPadId: number;
  private readonly timestampId: number;

  constructor(private readonly tokenizer: QwenTokenizer, timestampTokenId: number) {
    this.audioPadId = tokenizer.requireTokenId(AUDIO_PAD);
    this.timestampId = tokenizer.requireTokenId(TIMESTAMP);
    if (this.timestampId !== timestampTokenId) {
      throw new StageError('ERR_MODEL_CONFIG', `config.json timestamp_token_id is ${timestampTokenId} but the tokenizer has ${TIMESTAMP} at ${this.timestampId}`, 'internal');
    }
  }

  /** Words hold only letters, numbers and apostrophes (text/words.ts), so they cannot spell a control token. */
  build(words: string[], audioTokens: number): AlignerPrompt {
    const text = `<|audio_start|>${AUDIO_PAD}<|audio_end|>` + words.map((w) => `${w}${TIMESTAMP}${TIMESTAMP}`).join('');
    const ids = this.tokenizer.encode(text);
    const pad = ids.indexOf(this.audioPadId);
    const out = new Int32Array(ids.length - 1 + audioTokens);
    out.set(ids.slice(0, pad));
    out.fill(this.audioPadId, pad, pad + audioTokens);
    out.set(ids.slice(pad + 1), pad + audioTokens);
    const slots: number[] = [];
    out.forEach((id, i) => { if (id === this.timestampId) slots.push(i); });
    return { ids: out, slots: Int32Array.from(slots) };
  }
}
