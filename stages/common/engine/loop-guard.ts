// Notices when a sequence has started looping: its newest tokens are copies of
// one unit of at most `maxPeriod` tokens, back to back. Speech models fall into
// such loops on noise and far-field audio ("像像像…", "I think. I think. …" 2,000
// times: QwenLM/Qwen3-ASR #129, sglang-omni #2150) and then spend their whole
// token budget on them; the scheduler ends a looping sequence here instead and
// keeps one copy of the unit, which is what the official post-processing leaves
// of a long loop.
//
// A loop is `copies` ≥ minRepeats whole copies spanning ≥ minTokens tokens. The
// span floor is what protects real repetition ("no no no", "ha ha ha"): a unit of
// one token needs minTokens copies, a long unit only minRepeats. A unit repeated
// is also periodic at every multiple of its length, and any multiple meets the rule
// no sooner than the unit itself, so the smallest period found is the loop's own.
// Cost: maxPeriod comparisons per generated token (a counter per period, kept
// incrementally), nothing next to a decode step.
//
// The copies a loop leaves out must not have been streamed: `pending` is how many
// of the newest tokens a loop found later could still drop (the longest run, over
// all periods, of tokens equal to the token a period before them; a token outside
// every such run can never become a dropped copy). The sequence streams a token
// once it has left that window, or when the sequence ends.

export interface LoopGuardOptions {
  /** Longest unit looked for, in tokens (0 turns the guard off). */
  maxPeriod: number;
  /** Whole copies of the unit, at least. */
  minRepeats: number;
  /** Tokens the copies span together, at least. */
  minTokens: number;
}

export interface LoopFound {
  /** Tokens in the repeated unit. */
  period: number;
  /** Newest tokens that repeat the first copy; dropping them leaves one copy. */
  extra: number;
}

/** Throws a RangeError for settings that are not whole numbers or would call two tokens a loop. */
export function checkLoopGuardOptions(opts: LoopGuardOptions): void {
  for (const key of ['maxPeriod', 'minRepeats', 'minTokens'] as const) {
    if (!Number.isInteger(opts[key]) || opts[key] < 0) throw new RangeError(`loop guard ${key} must be an integer ≥ 0, got ${opts[key]}`);
  }
  if (opts.maxPeriod > 0 && opts.minRepeats < 2) throw new RangeError(`loop guard minRepeats must be ≥ 2, got ${opts.minRepeats}`);
}

export class LoopGuard {
  /** matched[p]: how many of the newest tokens equal the token p places before them, in a row. */
  private readonly matched: Int32Array;
  /** The newest tokens a loop found later could drop: the largest matched[p]. */
  pending = 0;

  constructor(private readonly opts: LoopGuardOptions) {
    checkLoopGuardOptions(opts);
    this.matched = new Int32Array(opts.maxPeriod + 1);
  }

  /** Call after each token is appended to `tokens`; says whether they now end in a loop. */
  push(tokens: readonly number[]): LoopFound | undefined {
    const n = tokens.length;
    const last = tokens[n - 1];
    let found: LoopFound | undefined;
    this.pending = 0;
    for (let p = 1; p <= this.opts.maxPeriod && p < n; p++) {
      this.matched[p] = tokens[n - 1 - p] === last ? this.matched[p] + 1 : 0;
      this.pending = Math.max(this.pending, this.matched[p]);
      if (found) continue;
      // The newest matched[p] + p tokens have period p: that many whole copies of the unit.
      const copies = Math.floor((this.matched[p] + p) / p);
      if (copies >= this.opts.minRepeats && copies * p >= this.opts.minTokens) found = { period: p, extra: this.matched[p] };
    }
    return found;
  }
}
