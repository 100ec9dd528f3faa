// Band-limited sample-rate conversion: a polyphase Kaiser-windowed sinc filter,
// linear phase, time-aligned (output sample n sits at input time n·fin/fout).
// Passband to 91% of the lower Nyquist frequency, stopband from that Nyquist
// frequency on, 120 dB rejection: tones above 8 kHz never alias into a 16 kHz output.

export const TARGET_RATE = 16000;
const PASSBAND = 0.91;
const REJECTION_DB = 120;
/** Ratios needing more phases than this interpolate between the nearest two of this many. */
const MAX_PHASES = 2048;

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

function designFilter(fromRate: number, toRate: number): FilterBank {
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  const nyquist = Math.min(fromRate, toRate) / 2;
  // band edges in cycles per input sample
  const pass = (PASSBAND * nyquist) / fromRate;
  const stop = nyquist / fromRate;
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

function filterFor(fromRate: number, toRate: number): FilterBank {
  const key = `${fromRate}>${toRate}`;
  let bank = banks.get(key);
  if (!bank) banks.set(key, (bank = designFilter(fromRate, toRate)));
  return bank;
}

/** Resamples one channel from `fromRate` to `toRate` (integer Hz). Output length is ceil(n·toRate/fromRate). */
export function resample(input: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (fromRate === toRate) return input;
  const { up, down, taps, half, phases, table } = filterFor(fromRate, toRate);
  const outLength = Math.ceil((input.length * up) / down);
  // zeros around the signal so every tap reads inside the array
  const padded = new Float32Array(input.length + 2 * taps);
  padded.set(input, taps);
  const out = new Float32Array(outLength);
  const exact = phases === up;
  for (let n = 0; n < outLength; n++) {
    const num = n * down; // output position in input samples is num / up
    const k0 = Math.floor(num / up);
    const start = k0 - half + 1 + taps; // index into padded
    const frac = (num - k0 * up) / up;
    if (exact) {
      out[n] = dot(padded, start, table, (num - k0 * up) * taps, taps);
    } else {
      const p = Math.floor(frac * phases);
      const a = frac * phases - p;
      const y0 = dot(padded, start, table, p * taps, taps);
      const y1 = dot(padded, start, table, (p + 1) * taps, taps);
      out[n] = y0 + a * (y1 - y0);
    }
  }
  return out;
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
