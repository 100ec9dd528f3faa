// Band-limited sample-rate conversion: polyphase Kaiser-windowed sinc filters,
// linear phase, time-aligned (output sample n sits at input time n·fin/fout).
// Passband to 91% of the lower Nyquist frequency, stopband from that Nyquist
// frequency on, 120 dB rejection: tones above 8 kHz never alias into a 16 kHz output.
//
// Streaming: input arrives chunk by chunk (as a decoder produces it) and output comes out
// as soon as the filter has the samples it needs, so no caller holds the source-rate signal.
//
// Cost is bounded whatever the input rate. One filter from rate fin to 16 kHz needs taps in
// proportion to fin (a fixed 720 Hz transition band): 521 at 48 kHz, 4163 at 383,990 Hz, i.e.
// 67 M multiply-adds per second of 384 kHz audio. Rates of 64 kHz and up are first cut by
// an integer factor D to fin/D in [32, 64) kHz with a short filter (its transition band runs
// from 7.28 kHz to fin/D − 8 kHz, the first frequency that would alias below 8 kHz), then
// the exact filter runs at fin/D: at most ~11 M + 6 M multiply-adds per second of audio at any rate
// (tests count them). Rates below 64 kHz (8–48 kHz recordings) keep the single exact filter.

export const TARGET_RATE = 16000;
const PASSBAND = 0.91;
const REJECTION_DB = 120;
/** Ratios needing more phases than this interpolate between the nearest two of this many. */
const MAX_PHASES = 2048;
/** Filter banks kept for reuse (designing one costs up to ~50 ms); bounded so that uploads at many odd rates cannot grow it. */
const MAX_CACHED_BANKS = 8;

interface FilterBank {
  /** Output/input rate ratio reduced to up/down. */
  up: number;
  down: number;
  /** Taps per phase (2·half). */
  taps: number;
  half: number;
  /** Rows of `taps` coefficients; row p is the filter for output positions p/phases past an input sample. */
  phases: number;
  table: Float32Array;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Zeroth-order modified Bessel function of the first kind (for the Kaiser window). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; term > sum * 1e-17; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

/** A filter converting `fromRate` to `toRate` whose band edges `pass` and `stop` are in cycles per input sample. */
function designFilter(fromRate: number, toRate: number, pass: number, stop: number): FilterBank {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const cutoff = pass + stop; // 2·(centre of the transition band): the sinc's zero spacing
  const beta = 0.1102 * (REJECTION_DB - 8.7);
  const length = (REJECTION_DB - 7.95) / (2.285 * 2 * Math.PI * (stop - pass)) + 1;
  const half = Math.ceil(length / 2);
  const taps = 2 * half;
  const phases = Math.min(up, MAX_PHASES);
  const rows = phases === up ? phases : phases + 1; // the extra row lets phase p+1 be read at p = phases-1
  const table = new Float32Array(rows * taps);
  const i0Beta = besselI0(beta);
  for (let p = 0; p < rows; p++) {
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const d = t - half + 1 - p / phases; // distance in input samples from the output position
      const r = d / half;
      const window = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta;
      const x = Math.PI * cutoff * d;
      const w = (x === 0 ? cutoff : (cutoff * Math.sin(x)) / x) * window;
      table[p * taps + t] = w;
      sum += w;
    }
    // unit gain at DC for every phase, so constant signals stay exactly constant
    for (let t = 0; t < taps; t++) table[p * taps + t] /= sum;
  }
  return { up, down, taps, half, phases, table };
}

const banks = new Map<string, FilterBank>();

function cachedFilter(fromRate: number, toRate: number, pass: number, stop: number): FilterBank {
  const key = `${fromRate}>${toRate}:${pass}:${stop}`;
  let bank = banks.get(key);
  if (bank) banks.delete(key); // re-inserted below: Map order is the recency order
  else bank = designFilter(fromRate, toRate, pass, stop);
  banks.set(key, bank);
  if (banks.size > MAX_CACHED_BANKS) banks.delete(banks.keys().next().value!);
  return bank;
}

/** The filters taking `fromRate` to `toRate`: the exact one, after an integer pre-decimation for high rates. */
function filterChain(fromRate: number, toRate: number): FilterBank[] {
  const nyquist = Math.min(fromRate, toRate) / 2;
  const factor = Math.floor(fromRate / (2 * toRate));
  if (factor < 2) return [cachedFilter(fromRate, toRate, (PASSBAND * nyquist) / fromRate, nyquist / fromRate)];
  // stage 1 keeps every factor-th sample of a low-passed copy; stage 2 reads those as a signal at
  // midRate = fromRate/factor (not always an integer), i.e. converts fromRate:toRate·factor in integers
  const midRate = fromRate / factor;
  return [
    cachedFilter(factor, 1, (PASSBAND * nyquist) / fromRate, (midRate - nyquist) / fromRate),
    cachedFilter(fromRate, toRate * factor, (PASSBAND * nyquist) / midRate, nyquist / midRate),
  ];
}

/** One filter bank applied to a stream: keeps the input the next outputs still need, nothing more. */
class PolyphaseStream {
  /** Input samples from absolute index `first` on; starts with `taps` zeros before the signal. */
  private buffer: Float32Array;
  private first: number;
  private filled: number;
  private received = 0;
  private next = 0;
  multiplyAdds = 0;

  constructor(private readonly bank: FilterBank) {
    this.buffer = new Float32Array(4 * bank.taps);
    this.first = -bank.taps;
    this.filled = bank.taps;
  }

  push(input: Float32Array): Float32Array {
    this.append(input);
    this.received += input.length;
    return this.drain(Infinity);
  }

  /** The outputs left once the input has ended (zeros past its end): ceil(received·up/down) in all. */
  finish(): Float32Array {
    this.append(new Float32Array(this.bank.taps));
    return this.drain(Math.ceil((this.received * this.bank.up) / this.bank.down));
  }

  private append(input: Float32Array): void {
    const { up, down, half } = this.bank;
    // samples before the window of the next output are no longer needed
    const drop = Math.max(0, Math.min(this.filled, Math.floor((this.next * down) / up) - half + 1 - this.first));
    if (drop > 0) {
      this.buffer.copyWithin(0, drop, this.filled);
      this.first += drop;
      this.filled -= drop;
    }
    if (this.filled + input.length > this.buffer.length) {
      const grown = new Float32Array(Math.max(2 * this.buffer.length, this.filled + input.length));
      grown.set(this.buffer.subarray(0, this.filled));
      this.buffer = grown;
    }
    this.buffer.set(input, this.filled);
    this.filled += input.length;
  }

  /** Every output whose window lies within the buffered input, up to `limit` outputs in all. */
  private drain(limit: number): Float32Array {
    const { up, down, taps, half, phases, table } = this.bank;
    const end = this.first + this.filled;
    const last = Math.min(limit, Math.ceil(((end - half) * up) / down)); // n·down/up < end - half: the window ends inside
    const out = new Float32Array(Math.max(0, last - this.next));
    const exact = phases === up;
    for (let i = 0; i < out.length; i++) {
      const num = (this.next + i) * down; // output position in input samples is num / up
      const k0 = Math.floor(num / up);
      const start = k0 - half + 1 - this.first;
      if (exact) {
        out[i] = dot(this.buffer, start, table, (num - k0 * up) * taps, taps);
      } else {
        const frac = (num - k0 * up) / up;
        const p = Math.floor(frac * phases);
        const a = frac * phases - p;
        const y0 = dot(this.buffer, start, table, p * taps, taps);
        const y1 = dot(this.buffer, start, table, (p + 1) * taps, taps);
        out[i] = y0 + a * (y1 - y0);
      }
    }
    this.next += out.length;
    this.multiplyAdds += out.length * taps * (exact ? 1 : 2);
    return out;
  }
}

/**
 * Converts one channel streamed in chunks. push returns the output that the input so far
 * determines; finish returns the rest. In all, ceil(n·toRate/fromRate) samples for n pushed.
 */
export class Resampler {
  private readonly stages: PolyphaseStream[];
  private received = 0;
  private emitted = 0;

  constructor(readonly fromRate: number, readonly toRate: number) {
    this.stages = fromRate === toRate ? [] : filterChain(fromRate, toRate).map((bank) => new PolyphaseStream(bank));
  }

  /** Multiply-adds spent so far: the work the input's rate costs. */
  get multiplyAdds(): number {
    return this.stages.reduce((sum, stage) => sum + stage.multiplyAdds, 0);
  }

  /** Output for `input` (at fromRate) as far as it can be computed yet; the input itself when the rates match. */
  push(input: Float32Array): Float32Array {
    this.received += input.length;
    let output: Float32Array = input;
    for (const stage of this.stages) output = stage.push(output);
    this.emitted += output.length;
    return output;
  }

  finish(): Float32Array {
    let output: Float32Array = new Float32Array(0);
    for (const stage of this.stages) output = concat(stage.push(output), stage.finish());
    // the stages round up one by one; the whole conversion rounds up once
    const total = Math.ceil((this.received * this.toRate) / this.fromRate);
    return output.subarray(0, Math.max(0, total - this.emitted));
  }
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length === 0) return b;
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Resamples one channel from `fromRate` to `toRate` (integer Hz). Output length is ceil(n·toRate/fromRate). */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const resampler = new Resampler(fromRate, toRate);
  return concat(resampler.push(input), resampler.finish());
}

function dot(x: Float32Array, xAt: number, h: Float32Array, hAt: number, n: number): number {
  // independent accumulators let the CPU overlap the multiply-adds
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += x[xAt + i] * h[hAt + i];
    s1 += x[xAt + i + 1] * h[hAt + i + 1];
    s2 += x[xAt + i + 2] * h[hAt + i + 2];
    s3 += x[xAt + i + 3] * h[hAt + i + 3];
  }
  for (; i < n; i++) s0 += x[xAt + i] * h[hAt + i];
  return s0 + s1 + (s2 + s3);
}

/** Mean of the channels (a single channel is returned as is). */
export function downmixToMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0];
  const out = new Float32Array(channels[0].length);
  const scale = 1 / channels.length;
  for (const plane of channels) for (let i = 0; i < out.length; i++) out[i] += plane[i] * scale;
  return out;
}

/** Qwen3-ASR's input normalisation: when the peak exceeds 1, a copy divided by the peak
 *  (clipped to [-1, 1] against rounding); otherwise the input itself. */
export function normalizePeak(samples: Float32Array): Float32Array {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) peak = Math.max(peak, Math.abs(samples[i]));
  if (!(peak > 1)) return samples;
  const scale = 1 / peak;
  return samples.map((v) => Math.max(-1, Math.min(1, v * scale)));
}

/** Downmix, resample to 16 kHz (both skipped for 16 kHz mono input) and peak-normalise. */
export function resampleTo16kMono(channels: Float32Array[], sampleRate: number): Float32Array {
  return normalizePeak(resample(downmixToMono(channels), sampleRate, TARGET_RATE));
}
