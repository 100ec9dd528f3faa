// qwen-asr's repetition cleanup (detect_and_fix_repetitions, threshold 20, in
// transformers' processing_qwen3_asr.py and QwenLM's qwen_asr), for the final text
// and for a stream of it. The final text is cleaned whole: a character repeated
// more than `threshold` times in a row becomes one, then, scanning left to right,
// the first pattern of 1..20 characters repeated `threshold` or more times from a
// position becomes one copy (positions in the last 2·threshold characters are not
// scanned, as in the reference).
//
// A stream must show only text the cleanup will keep: a loop streamed copy by copy
// would otherwise reach the client in full and then vanish from the final text.
// So the scan runs as the text grows. Its decisions are settled where the text
// already shows them (a pattern broken by a mismatch before `threshold` copies, or
// `threshold` copies of one); beyond that, text is still shown up to the end of
// the first copy of any pattern that may yet become a loop, since the cleanup keeps
// a loop's first copy whatever follows. Held back: the last character run (it may
// grow past the threshold) and the second and later copies of anything repeating
// at the end, i.e. a loop in progress. One scanner serves both: fixRepetitions is
// the stream finished at once, so the golden test of the final text checks the
// stream's rules.

export const REPETITION_THRESHOLD = 20;
/** Longest repeated pattern (in characters) that is looked for. */
const MAX_PATTERN_CHARS = 20;

/** A character of the cleaned text, and how many raw characters were pushed up to the one it stands for. */
export interface Shown {
  ch: string;
  rawEnd: number;
}

interface Copies {
  count: number;
  /** A mismatch ended the count, or (the text is final) the end did: more text cannot add copies. */
  settled: boolean;
}

export class RepetitionScanner {
  /** The text with character runs collapsed, up to the last run (which may still grow). */
  private readonly chars: string[] = [];
  /** Raw characters pushed up to and including each of `chars`. */
  private readonly rawEnds: number[] = [];
  private raw = 0;
  private last = { ch: '', run: 0 };
  /** Next position of `chars` the pattern scan decides. */
  private at = 0;
  /** Characters from `at` on already shown ahead of the scan's decisions. */
  private ahead = 0;
  /** A loop whose first copy is out and whose end is not yet known. */
  private inRun?: { start: number; k: number; copies: number };
  private final = false;

  constructor(private readonly threshold = REPETITION_THRESHOLD) {}

  /** Adds text; returns the cleaned text that became sure. */
  push(text: string): Shown[] {
    for (const ch of text) {
      if (ch !== this.last.ch) {
        this.settleRun();
        this.last.ch = ch;
      }
      this.last.run++;
      this.raw++;
    }
    return this.advance();
  }

  /** No more text: the rest of the cleaned text. */
  flush(): Shown[] {
    this.settleRun();
    this.final = true;
    return this.advance();
  }

  /** Raw characters whose fate is known: shown, or dropped as copies of a loop. */
  get decided(): number {
    if (this.final) return this.raw;
    const end = this.inRun ? this.inRun.start + this.inRun.copies * this.inRun.k : this.at + this.ahead;
    return end > 0 ? this.rawEnds[end - 1] : 0;
  }

  /** The last character run goes into `chars`: one character if it was longer than the threshold. */
  private settleRun(): void {
    const { ch, run } = this.last;
    const kept = run > this.threshold ? 1 : run;
    for (let i = 0; i < kept; i++) {
      this.chars.push(ch);
      this.rawEnds.push(this.raw - run + (kept === 1 ? run : i + 1));
    }
    this.last = { ch: '', run: 0 };
  }

  /** Whole copies of the `k` characters at `start`, counting on from `from` copies already seen, up to `limit`. */
  private copies(start: number, k: number, from = 1, limit = Infinity): Copies {
    const { chars } = this;
    for (let count = from; count < limit; count++) {
      const next = start + count * k;
      let j = 0;
      while (j < k && next + j < chars.length && chars[next + j] === chars[start + j]) j++;
      if (j < k) return { count, settled: this.final || next + j < chars.length };
    }
    return { count: limit, settled: true };
  }

  private advance(): Shown[] {
    const settled = this.scan();
    const dropped = Math.min(this.ahead, settled.length);
    this.ahead -= dropped;
    const out = settled.slice(dropped);
    if (this.inRun || this.final) return out;
    const reach = this.reach();
    for (let p = this.at + this.ahead; p < reach; p++) out.push(this.shown(p));
    this.ahead = Math.max(this.ahead, reach - this.at);
    return out;
  }

  private shown(p: number): Shown {
    return { ch: this.chars[p], rawEnd: this.rawEnds[p] };
  }

  /** The settled scan: the official one, stopping where the text so far does not decide. */
  private scan(): Shown[] {
    const { chars, threshold } = this;
    const out: Shown[] = [];
    for (;;) {
      if (this.inRun) {
        const { start, k } = this.inRun;
        const run = this.copies(start, k, this.inRun.copies);
        this.inRun.copies = run.count;
        if (!run.settled) return out;
        this.at = start + run.count * k;
        this.inRun = undefined;
      }
      const i = this.at;
      if (this.final && i > chars.length - 2 * threshold) {
        for (let p = i; p < chars.length; p++) out.push(this.shown(p));
        this.at = chars.length;
        return out;
      }
      let loop: { k: number; copies: number } | undefined;
      for (let k = 1; k <= MAX_PATTERN_CHARS; k++) {
        if (this.final && i + k * threshold > chars.length) break;
        if (i + k > chars.length) return out; // not even one copy of this pattern is here yet
        const run = this.copies(i, k);
        if (run.count >= threshold) {
          loop = { k, copies: run.count };
          break;
        }
        if (!run.settled) return out; // its copies reach the end so far: more may come
      }
      if (!loop) {
        out.push(this.shown(i));
        this.at = i + 1;
        continue;
      }
      // Whether this position is scanned at all depends on the final length (the last 2·threshold are not).
      if (i + 2 * threshold > chars.length) return out;
      for (let p = i; p < i + loop.k; p++) out.push(this.shown(p));
      this.inRun = { start: i, ...loop };
    }
  }

  /**
   * How far past the scan the cleaned text is sure to be the characters as they are: up to the
   * end of the first copy of the earliest pattern that may still turn out a loop (the cleanup
   * keeps a loop's first copy, so the text runs on the same up to there, loop or not).
   */
  private reach(): number {
    let reach = this.chars.length;
    for (let i = this.at; i < reach; i++) {
      for (let k = 1; k <= MAX_PATTERN_CHARS && i + k < reach; k++) {
        const run = this.copies(i, k, 1, this.threshold);
        if (run.count >= this.threshold || !run.settled) {
          reach = i + k;
          break;
        }
      }
    }
    return reach;
  }
}

/** qwen-asr's detect_and_fix_repetitions: collapses decoding loops (character runs, then pattern runs). */
export function fixRepetitions(text: string, threshold = REPETITION_THRESHOLD): string {
  const scanner = new RepetitionScanner(threshold);
  return [...scanner.push(text), ...scanner.flush()].map((s) => s.ch).join('');
}
