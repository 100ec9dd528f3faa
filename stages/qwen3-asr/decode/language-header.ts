// Turns generated text pieces into the deltas a client sees: the model's
// `language X<asr_text>` header is held back (it is metadata, not transcript),
// and segments decoded in parallel are released in order, each after the one
// before it has finished.

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
    const trimmed = text.trimStart();
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

/** What goes between the end of one segment's text and the start of the next ('' or ' '). */
export type SeamFn = (before: string, after: string) => string;

/** Releases per-segment deltas in segment order: segment i streams live once segments < i are done. */
export class OrderedDeltas {
  private current = 0;
  private readonly held: string[][];
  private readonly done: boolean[];
  private lastSent = { segment: -1, text: '' };

  constructor(segments: number, private readonly emit: (delta: string) => void, private readonly seam: SeamFn) {
    this.held = Array.from({ length: segments }, () => []);
    this.done = new Array(segments).fill(false);
  }

  push(segment: number, delta: string): void {
    if (!delta) return;
    if (segment === this.current) this.send(segment, delta);
    else this.held[segment].push(delta);
  }

  finish(segment: number): void {
    this.done[segment] = true;
    while (this.current < this.done.length && this.done[this.current]) {
      this.current++;
      for (const delta of this.held[this.current]?.splice(0) ?? []) this.send(this.current, delta);
    }
  }

  private send(segment: number, delta: string): void {
    const first = segment !== this.lastSent.segment;
    const seam = first && this.lastSent.segment >= 0 ? this.seam(this.lastSent.text, delta) : '';
    this.lastSent = { segment, text: delta };
    this.emit(seam + delta);
  }
}
