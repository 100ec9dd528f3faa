// Hotwords that don't leak. Qwen3-ASR takes the request's `prompt` as free text
// in the system turn ("context": the official qwen-asr and transformers'
// processor put it there verbatim; the model was trained to use it as background,
// not to follow it). Given a term list ("Qwen-ASR, DashScope, FFmpeg") a model
// sometimes starts its transcript by reading the list back. The rule (README):
//  - the prompt's terms: split at , ; ， ； 、 and line breaks, trimmed, empties
//    dropped; the rule applies only to two or more terms (a single term at the
//    start of the text may well be what was said);
//  - a segment's text echoes them when it starts (after whitespace) with every
//    term, in order and exactly as written, each pair apart by one or more
//    separators (whitespace or , ; : . ! ? ， ； ： 、 。 ！ ？), and the last term is
//    followed by a separator or the end of the text (not by more of a word);
//  - then the echo and the separators after it are removed from that segment's
//    text (and from its stream and logprobs). Anything else is left as it is.
import type { TokenLogprob } from '../../../src/contracts/transcription.js';

const TERM_SPLIT = /[,;，；、\r\n]+/;
const SEPARATOR = /[\s,;:.!?，；：、。！？]/u;
const isSeparator = (ch: string) => SEPARATOR.test(ch);

/** The prompt's terms when it is a list of two or more, else undefined (the rule does not apply). */
export function promptTerms(prompt: string): string[] | undefined {
  const terms = prompt.split(TERM_SPLIT).map((term) => term.trim()).filter((term) => term !== '');
  return terms.length >= 2 ? terms : undefined;
}

export type EchoMatch = { kind: 'echo'; end: number } | { kind: 'partial' } | { kind: 'none' };

/**
 * Whether `text` starts with the terms' echo: 'echo' with where the kept text begins, 'none',
 * or 'partial' when the text so far is the beginning of an echo (`final`: no more text comes,
 * so an echo that reaches the end of the text is complete).
 */
export function matchEcho(text: string, terms: string[], final: boolean): EchoMatch {
  let i = 0;
  while (i < text.length && /\s/.test(text[i])) i++;
  for (const [k, term] of terms.entries()) {
    if (k > 0) {
      const before = i;
      while (i < text.length && isSeparator(text[i])) i++;
      if (i === text.length) return final ? { kind: 'none' } : { kind: 'partial' };
      if (i === before) return { kind: 'none' };
    }
    const seen = text.slice(i, i + term.length);
    if (!term.startsWith(seen)) return { kind: 'none' };
    if (seen.length < term.length) return final ? { kind: 'none' } : { kind: 'partial' };
    i += term.length;
  }
  if (i === text.length) return final ? { kind: 'echo', end: i } : { kind: 'partial' };
  if (!isSeparator(text[i])) return { kind: 'none' };
  while (i < text.length && isSeparator(text[i])) i++;
  // Separators may still arrive: while streaming, the echo is only known to end here once text follows.
  return i === text.length && !final ? { kind: 'partial' } : { kind: 'echo', end: i };
}

/** A segment's final text without the echo, and how many of its leading characters went. */
export function stripPromptEcho(text: string, terms: string[] | undefined): { text: string; removed: number } {
  const match = terms ? matchEcho(text, terms, true) : { kind: 'none' as const };
  return match.kind === 'echo' ? { text: text.slice(match.end), removed: match.end } : { text, removed: 0 };
}

/** The logprob entries left once the first `removedText` of the transcript is gone (a token straddling the cut stays). */
export function dropEchoLogprobs(entries: TokenLogprob[], removedText: string): TokenLogprob[] {
  if (removedText === '') return entries;
  let budget = Buffer.byteLength(removedText.trimStart(), 'utf8');
  let drop = 0;
  // Leading whitespace tokens are not in the parsed text; they go with the echo.
  while (drop < entries.length && entries[drop].token.trim() === '') drop++;
  while (drop < entries.length && entries[drop].bytes.length <= budget) budget -= entries[drop++].bytes.length;
  return entries.slice(drop);
}

export interface EchoPiece {
  text: string;
  logprobs?: TokenLogprob[];
}

/** The same rule on a segment's stream: text is held while it could still be an echo, then dropped or released. */
export class PromptEchoFilter {
  private held: EchoPiece[] = [];
  private state: 'deciding' | 'trimming' | 'passing';

  constructor(private readonly terms: string[] | undefined) {
    this.state = terms ? 'deciding' : 'passing';
  }

  push(piece: EchoPiece): EchoPiece {
    if (this.state === 'passing') return piece;
    if (this.state === 'trimming') return this.trim(piece);
    this.held.push(piece);
    const match = matchEcho(this.heldText(), this.terms!, false);
    if (match.kind === 'partial') return { text: '' };
    return match.kind === 'echo' ? this.cut(match.end) : this.release();
  }

  /** The end of the segment: what is held is decided with no more text to come. */
  flush(): EchoPiece {
    if (this.state !== 'deciding') return { text: '' };
    const match = matchEcho(this.heldText(), this.terms!, true);
    return match.kind === 'echo' ? this.cut(match.end) : this.release();
  }

  private heldText(): string {
    return this.held.map((p) => p.text).join('');
  }

  /** Drops the first `end` characters of the held text and the logprobs of pieces wholly inside them. */
  private cut(end: number): EchoPiece {
    let offset = 0;
    let text = '';
    const logprobs: TokenLogprob[] = [];
    for (const piece of this.held) {
      const pieceEnd = offset + piece.text.length;
      if (pieceEnd > end) {
        text += piece.text.slice(Math.max(0, end - offset));
        logprobs.push(...(piece.logprobs ?? []));
      }
      offset = pieceEnd;
    }
    this.held = [];
    this.state = 'trimming';
    return this.trim({ text, logprobs: logprobs.length ? logprobs : undefined });
  }

  /** After an echo, separators that arrive before the speech are dropped too. */
  private trim(piece: EchoPiece): EchoPiece {
    let start = 0;
    while (start < piece.text.length && isSeparator(piece.text[start])) start++;
    if (start < piece.text.length) this.state = 'passing';
    return { text: piece.text.slice(start), logprobs: piece.logprobs };
  }

  private release(): EchoPiece {
    const held = this.held;
    this.held = [];
    this.state = 'passing';
    const logprobs = held.flatMap((p) => p.logprobs ?? []);
    return { text: held.map((p) => p.text).join(''), logprobs: logprobs.length ? logprobs : undefined };
  }
}
