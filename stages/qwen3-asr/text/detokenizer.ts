// Incremental id → text for streaming. A byte-level BPE token can end in the
// middle of a UTF-8 character (emoji and CJK often span two tokens), which
// decodes to U+FFFD until the rest arrives: such a tail is held back, never
// sent. Pieces concatenate to exactly decode(ids, { skipSpecial: true }).
import type { QwenTokenizer } from './tokenizer.js';

const REPLACEMENT = '\uFFFD';

export class StreamingDetokenizer {
  /** Ids not yet turned into text. Byte-level decoding needs no context before a clean
   *  character boundary, so only these are ever decoded again. */
  private pending: number[] = [];

  constructor(private readonly tokenizer: QwenTokenizer) {}

  /** Text that `id` completes ('' while a character is still incomplete, and for special tokens). */
  push(id: number): string {
    if (this.tokenizer.isSpecial(id)) return '';
    this.pending.push(id);
    const text = this.tokenizer.decode(this.pending);
    if (text === '' || text.endsWith(REPLACEMENT)) return '';
    this.pending = [];
    return text;
  }

  /** Whatever is still held: an incomplete character at the very end decodes to U+FFFD, as decode does. */
  flush(): string {
    const text = this.tokenizer.decode(this.pending);
    this.pending = [];
    return text;
  }
}
