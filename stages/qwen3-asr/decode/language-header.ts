// Holds the model's `language X<asr_text>` header back from the streamed text
// pieces: it is metadata, not transcript (the engine's OrderedDeltas then
// releases segments in order).
import { pyStripStart } from '../text/parse.js';

const HEADER_START = 'language ';
const HEADER_END = '<asr_text>';
/** A header longer than this is not a header: the model just said "language ...". */
const MAX_HEADER_CHARS = 64;

/** Strips a leading `language X<asr_text>` from a stream of text pieces. */
export class LanguageHeaderFilter {
  private held = '';
  private passing: boolean;
  private started = false;

  /** With a forced language the header is in the prompt, so the output is all transcript. */
  constructor(headerInPrompt: boolean) {
    this.passing = headerInPrompt;
  }

  /** Text to show for `piece` (maybe empty while the header is still undecided). */
  push(piece: string): string {
    if (this.passing) return this.out(piece);
    this.held += piece;
    const lead = this.held.trimStart();
    const end = lead.indexOf(HEADER_END);
    if (end >= 0 && lead.startsWith(HEADER_START)) return this.release(lead.slice(end + HEADER_END.length));
    if (couldBeHeader(lead)) return '';
    return this.release(this.held);
  }

  /** Whatever is still held when the sequence ends (a header that never closed is text after all). */
  flush(): string {
    return this.passing ? '' : this.release(this.held);
  }

  private release(text: string): string {
    this.passing = true;
    this.held = '';
    return this.out(text);
  }

  /** The transcript never starts with whitespace (the final text is trimmed too). */
  private out(text: string): string {
    if (this.started) return text;
    const trimmed = pyStripStart(text); // as the parsed text is stripped (Python's whitespace: \x1c-\x1f too)
    if (trimmed) this.started = true;
    return trimmed;
  }
}

function couldBeHeader(lead: string): boolean {
  if (HEADER_START.startsWith(lead)) return true;
  if (!lead.startsWith(HEADER_START)) return false;
  const tag = lead.indexOf('<');
  return tag < 0 ? lead.length < MAX_HEADER_CHARS : HEADER_END.startsWith(lead.slice(tag));
}
