// Splits long audio into segments the model can take, cutting where it is
// quietest near each nominal boundary so that words are not cut in half.

export interface SegmentBounds {
  /** First sample of the segment. */
  start: number;
  /** One past its last sample. */
  end: number;
}

export interface SplitOptions {
  sampleRate: number;
  /** Longest segment wanted, in seconds; each cut lands within ±searchS of a multiple of it. */
  maxSegmentS: number;
  searchS: number;
  /** Length of the window whose energy is compared (100 ms). */
  windowS?: number;
  /** Candidate cut points are multiples of this many samples (the mel hop keeps frames aligned). */
  step?: number;
}

/** Sample ranges covering `samples`: one when it fits in maxSegmentS, else cut at the
 *  centre of the lowest-energy window within ±searchS of each nominal boundary. */
export function splitAtQuietPoints(samples: Float32Array, opts: SplitOptions): SegmentBounds[] {
  const { sampleRate, maxSegmentS, searchS, windowS = 0.1, step = 160 } = opts;
  const maxLength = Math.round(maxSegmentS * sampleRate);
  if (samples.length <= maxLength) return [{ start: 0, end: samples.length }];
  const window = Math.max(1, Math.round(windowS * sampleRate));
  const search = Math.round(searchS * sampleRate);
  const half = window >> 1;
  // Running sums of squares over each search range only (energy of any window there in O(1)):
  // one range's worth of memory, not 8 bytes per sample of the file (128 MB for 1000 s: issue 11).
  let energy = new Float64Array(0);

  const bounds: SegmentBounds[] = [];
  let start = 0;
  while (samples.length - start > maxLength) {
    const target = start + maxLength;
    // keep at least half a window on each side of a cut inside the audio and past the segment start
    const lo = Math.max(start + window, target - search);
    const hi = Math.min(samples.length - window, target + search);
    const from = Math.ceil(lo / step) * step - half; // energy[i] sums samples [from, from + i)
    const length = Math.max(0, hi + half - from + 1);
    if (energy.length < length) energy = new Float64Array(length);
    for (let i = 1; i < length; i++) energy[i] = energy[i - 1] + samples[from + i - 1] * samples[from + i - 1];
    let cut = target;
    let best = Infinity;
    for (let c = from + half; c <= hi; c += step) {
      const e = energy[c + half - from] - energy[c - half - from];
      if (e < best) (best = e), (cut = c);
    }
    bounds.push({ start, end: cut });
    start = cut;
  }
  bounds.push({ start, end: samples.length });
  return bounds;
}

/** Segments over the speech regions only (sample ranges, in order): neighbouring regions share a
 *  segment while it stays within maxSegmentS and the pause between them is under maxGapS; longer
 *  pauses and the audio outside every region are left out. A region longer than maxSegmentS (one
 *  utterance) is the only thing cut inside speech, at its quiet points as splitAtQuietPoints does. */
export function splitAtSpeech(samples: Float32Array, speech: SegmentBounds[], opts: SplitOptions & { maxGapS: number }): SegmentBounds[] {
  const maxLength = Math.round(opts.maxSegmentS * opts.sampleRate);
  const maxGap = Math.round(opts.maxGapS * opts.sampleRate);
  const packed: SegmentBounds[] = [];
  for (const region of speech) {
    const last = packed[packed.length - 1];
    if (last && region.start - last.end < maxGap && region.end - last.start <= maxLength) last.end = region.end;
    else packed.push({ ...region });
  }
  return packed.flatMap(({ start, end }) =>
    splitAtQuietPoints(samples.subarray(start, end), opts).map((b) => ({ start: start + b.start, end: start + b.end })),
  );
}
