// Slot classes → word times, as the official decode does (transformers'
// decode_forced_alignment / _fix_timestamps, qwen-asr's fix_timestamp and
// parse_timestamp): class × segment ms, then made monotonic — the longest
// non-decreasing subsequence is kept, runs of ≤ 2 other values snap to the
// nearer kept neighbour, longer runs are interpolated between their
// neighbours — truncated to whole ms, and rounded to ms in seconds.

/** The official repair of out-of-order times (ms); the result never decreases. */
export function fixTimestamps(raw: ArrayLike<number>): number[] {
  const data = Array.from(raw);
  const n = data.length;
  if (n === 0) return [];
  const len = new Array<number>(n).fill(1);
  const parent = new Array<number>(n).fill(-1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (data[j] <= data[i] && len[j] + 1 > len[i]) { len[i] = len[j] + 1; parent[i] = j; }
    }
  }
  const kept = new Array<boolean>(n).fill(false);
  for (let i = len.indexOf(Math.max(...len)); i !== -1; i = parent[i]) kept[i] = true;
  const out = data.slice();
  const keptValue = (from: number, step: number) => {
    for (let k = from; k >= 0 && k < n; k += step) if (kept[k]) return out[k];
    return undefined;
  };
  for (let i = 0; i < n;) {
    if (kept[i]) { i++; continue; }
    let j = i;
    while (j < n && !kept[j]) j++;
    const left = keptValue(i - 1, -1);
    const right = keptValue(j, 1);
    for (let k = i; k < j; k++) {
      if (left === undefined) out[k] = right!;
      else if (right === undefined) out[k] = left;
      else if (j - i <= 2) out[k] = k - (i - 1) <= j - k ? left : right;
      else out[k] = left + ((right - left) / (j - i + 1)) * (k - i + 1);
    }
    i = j;
  }
  return out.map((v) => Math.trunc(v));
}

/** Index of the largest value of each row of [rows, classes] (the first on ties, as torch.argmax). */
export function argmaxRows(logits: Float32Array, classes: number): Int32Array {
  const rows = logits.length / classes;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
    out[r] = best;
  }
  return out;
}

export interface WordTime { word: string; start: number; end: number }

/** Words and their slot classes (2 per word) → times in seconds from the clip start, plus `offset`. */
export function wordTimes(words: string[], classes: ArrayLike<number>, segmentMs: number, offset = 0): WordTime[] {
  const ms = fixTimestamps(Array.from(classes, (c) => c * segmentMs));
  const sec = (v: number) => Math.round(v) / 1000;
  return words.map((word, i) => ({ word, start: round3(sec(ms[2 * i]) + offset), end: round3(sec(ms[2 * i + 1]) + offset) }));
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
