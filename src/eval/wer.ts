// Word (or character) error rate by Levenshtein alignment with a backtrace.
//
// By default the alignment minimises the number of errors (S+D+I), which is
// what jiwer, and so sglang-omni's CI, reports. Among alignments with that many
// errors it takes the one NIST sclite prefers (its default weights: substitution
// 4, insertion 3, deletion 3), so the S/D/I split matches sclite as well.
// sclite itself minimises only the weight, and may then report one more error
// ("a b c x y" / "x y d e f": 3 D + 3 I, weight 18, rather than 5 S, weight 20);
// objective 'sclite' reproduces that.

export type EditKind = 'hit' | 'substitution' | 'deletion' | 'insertion';

export interface Edit {
  kind: EditKind;
  /** Reference token (absent for insertions). */
  ref?: string;
  /** Hypothesis token (absent for deletions). */
  hyp?: string;
}

export interface ErrorCounts {
  hits: number;
  substitutions: number;
  deletions: number;
  insertions: number;
  /** Reference length: hits + substitutions + deletions. */
  refTokens: number;
}

export interface Alignment extends ErrorCounts {
  edits: Edit[];
  /** (S+D+I)/reference tokens; null when the reference is empty (the rate is undefined). */
  errorRate: number | null;
}

const SCLITE_SUB = 4;
const SCLITE_INDEL = 3;

// Back-pointer codes for the traceback matrix.
const FROM_DIAGONAL = 0;
const FROM_UP = 1; // deletion: reference token consumed alone
const FROM_LEFT = 2; // insertion: hypothesis token consumed alone

export interface AlignOptions {
  /** 'fewest-errors' (default, jiwer) or 'sclite' (least sclite weight). */
  objective?: 'fewest-errors' | 'sclite';
}

/** Aligns two token sequences; O(n·m) time, O(n·m) bytes for the traceback. */
export function alignTokens(ref: readonly string[], hyp: readonly string[], options: AlignOptions = {}): Alignment {
  const n = ref.length;
  const m = hyp.length;
  // For fewest errors, one error must outweigh any difference in sclite weight
  // between paths, which is below SCLITE_SUB * (n + m); costs stay exact integers.
  const errorUnit = options.objective === 'sclite' ? 0 : SCLITE_SUB * (n + m) + 1;
  const subCost = errorUnit + SCLITE_SUB;
  const indelCost = errorUnit + SCLITE_INDEL;

  const from = new Uint8Array((n + 1) * (m + 1));
  let prev = new Float64Array(m + 1);
  let cur = new Float64Array(m + 1);
  for (let j = 1; j <= m; j++) {
    prev[j] = j * indelCost;
    from[j] = FROM_LEFT;
  }
  for (let i = 1; i <= n; i++) {
    cur[0] = i * indelCost;
    from[i * (m + 1)] = FROM_UP;
    for (let j = 1; j <= m; j++) {
      const diagonal = prev[j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : subCost);
      const up = prev[j] + indelCost;
      const left = cur[j - 1] + indelCost;
      let best = diagonal;
      let step = FROM_DIAGONAL;
      if (up < best) [best, step] = [up, FROM_UP];
      if (left < best) [best, step] = [left, FROM_LEFT];
      cur[j] = best;
      from[i * (m + 1) + j] = step;
    }
    [prev, cur] = [cur, prev];
  }
  return fromEdits(traceBack(ref, hyp, from));
}

function traceBack(ref: readonly string[], hyp: readonly string[], from: Uint8Array): Edit[] {
  const width = hyp.length + 1;
  const edits: Edit[] = [];
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const step = from[i * width + j];
    if (step === FROM_DIAGONAL) {
      edits.push({ kind: ref[i - 1] === hyp[j - 1] ? 'hit' : 'substitution', ref: ref[i - 1], hyp: hyp[j - 1] });
      i--;
      j--;
    } else if (step === FROM_UP) {
      edits.push({ kind: 'deletion', ref: ref[--i] });
    } else {
      edits.push({ kind: 'insertion', hyp: hyp[--j] });
    }
  }
  return edits.reverse();
}

function fromEdits(edits: Edit[]): Alignment {
  const counts = sumCounts([]);
  for (const e of edits) {
    if (e.kind === 'hit') counts.hits++;
    else if (e.kind === 'substitution') counts.substitutions++;
    else if (e.kind === 'deletion') counts.deletions++;
    else counts.insertions++;
  }
  counts.refTokens = counts.hits + counts.substitutions + counts.deletions;
  return { ...counts, edits, errorRate: errorRate(counts) };
}

/** (S+D+I)/N, or null for an empty reference. */
export function errorRate(c: ErrorCounts): number | null {
  return c.refTokens === 0 ? null : (c.substitutions + c.deletions + c.insertions) / c.refTokens;
}

/** Adds counts over samples: corpus WER is errorRate(sumCounts(...)), not a mean of per-sample rates. */
export function sumCounts(samples: readonly ErrorCounts[]): ErrorCounts {
  const total: ErrorCounts = { hits: 0, substitutions: 0, deletions: 0, insertions: 0, refTokens: 0 };
  for (const s of samples) {
    total.hits += s.hits;
    total.substitutions += s.substitutions;
    total.deletions += s.deletions;
    total.insertions += s.insertions;
    total.refTokens += s.refTokens;
  }
  return total;
}
