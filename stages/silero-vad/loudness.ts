// Loudness normalisation for chunking_strategy "auto", which OpenAI describes as
// "the server first normalizes loudness and then uses voice activity detection".
// Loudness is ITU-R BS.1770-4 integrated loudness (EBU R128's measure): K-weighting
// (a high shelf and a high pass, designed here for the stream's rate as pyloudnorm
// does), mean square over 400 ms blocks every 100 ms, an absolute gate at -70 LUFS
// and a relative gate 10 LU under the loudness of the blocks that pass it. Checked
// against ffmpeg's ebur128 filter (test/vad-loudness.test.ts).
//
// The gain only scales what the VAD reads: the encoder still gets the audio as sent.
// Measured on the LibriVox set (bench/vad.ts): at -30 dB the first word's start is
// found 200 ms late without it; with it the regions are those of the original level.

/** EBU R128's programme target. */
export const TARGET_LUFS = -23;
/** Gains are kept within these bounds (dB): a near-silent upload is not raised to speech level. */
const MAX_GAIN_DB = 30;
const MIN_GAIN_DB = -20;
const ABSOLUTE_GATE = -70;
const RELATIVE_GATE = 10;

type Biquad = [b0: number, b1: number, b2: number, a1: number, a2: number];

/** BS.1770's two K-weighting stages for `rate`, normalised by a0. */
function kWeighting(rate: number): Biquad[] {
  // Stage 1, the head's high shelf: +4 dB above ~1.7 kHz.
  const shelf = (() => {
    const [f0, gainDb, q] = [1681.974450955533, 3.999843853973347, 0.7071752369554196];
    const a = 10 ** (gainDb / 40);
    const w0 = (2 * Math.PI * f0) / rate;
    const alpha = Math.sin(w0) / (2 * q);
    const cos = Math.cos(w0);
    const root = 2 * Math.sqrt(a) * alpha;
    const a0 = a + 1 - (a - 1) * cos + root;
    return [
      (a * (a + 1 + (a - 1) * cos + root)) / a0,
      (-2 * a * (a - 1 + (a + 1) * cos)) / a0,
      (a * (a + 1 + (a - 1) * cos - root)) / a0,
      (2 * (a - 1 - (a + 1) * cos)) / a0,
      (a + 1 - (a - 1) * cos - root) / a0,
    ] as Biquad;
  })();
  // Stage 2, RLB: a high pass at ~38 Hz.
  const highPass = (() => {
    const [f0, q] = [38.13547087602444, 0.5003270373238773];
    const w0 = (2 * Math.PI * f0) / rate;
    const alpha = Math.sin(w0) / (2 * q);
    const cos = Math.cos(w0);
    const a0 = 1 + alpha;
    return [(1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0, (-2 * cos) / a0, (1 - alpha) / a0] as Biquad;
  })();
  return [shelf, highPass];
}

const toLufs = (meanSquare: number) => -0.691 + 10 * Math.log10(meanSquare);

/** Integrated loudness of mono `samples` in LUFS; -Infinity when no 400 ms block passes the absolute gate. */
export function integratedLoudness(samples: Float32Array, rate: number): number {
  const [s, h] = kWeighting(rate);
  const step = Math.round(rate / 10);
  const stepSums = new Float64Array(Math.floor(samples.length / step));
  // Both filters in one pass (direct form I), squares summed per 100 ms step.
  let [x1, x2, y1, y2, z1, z2] = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < stepSums.length * step; i++) {
    const x = samples[i];
    const y = s[0] * x + s[1] * x1 + s[2] * x2 - s[3] * y1 - s[4] * y2;
    const z = h[0] * y + h[1] * y1 + h[2] * y2 - h[3] * z1 - h[4] * z2;
    [x2, x1, y2, y1, z2, z1] = [x1, x, y1, y, z1, z];
    stepSums[(i / step) | 0] += z * z;
  }
  const blocks: number[] = [];
  for (let b = 0; b + 4 <= stepSums.length; b++) blocks.push((stepSums[b] + stepSums[b + 1] + stepSums[b + 2] + stepSums[b + 3]) / (4 * step));
  const gated = (floor: number) => blocks.filter((z) => toLufs(z) > floor);
  const mean = (zs: number[]) => zs.reduce((sum, z) => sum + z, 0) / zs.length;
  const loud = gated(ABSOLUTE_GATE);
  if (loud.length === 0) return -Infinity;
  const kept = gated(Math.max(ABSOLUTE_GATE, toLufs(mean(loud)) - RELATIVE_GATE));
  return toLufs(mean(kept));
}

/** Linear gain that brings `samples` to TARGET_LUFS (within -20..+30 dB); 1 when nothing is loud enough to measure. */
export function normalisingGain(samples: Float32Array, rate: number): number {
  const lufs = integratedLoudness(samples, rate);
  if (!Number.isFinite(lufs)) return 1;
  const db = Math.min(MAX_GAIN_DB, Math.max(MIN_GAIN_DB, TARGET_LUFS - lufs));
  return 10 ** (db / 20);
}
