// Whisper's log-mel spectrogram, as Qwen3-ASR's feature extractor computes it:
// periodic Hann window of 400, hop 160, centre reflect padding, power spectrum,
// Slaney-scale and Slaney-normalised mel filters up to 8 kHz, the last frame dropped,
// log10 of max(·, 1e-10), floored at (max - 8), then (x + 4) / 4. No padding to 30 s.
import { audioTooShort } from './errors.js';
import { createPowerSpectrum, type PowerSpectrum } from './fft.js';

export const N_FFT = 400;
export const HOP = 160;
export const SAMPLE_RATE = 16000;
const MAX_MEL_HZ = 8000;

export interface LogMel {
  /** Row-major [nMels, frames]. */
  mel: Float32Array;
  frames: number;
  nMels: number;
}

/** One triangular filter restricted to the FFT bins where it is non-zero. */
interface MelFilter {
  firstBin: number;
  weights: Float64Array;
}

const hzToMel = (hz: number) => (hz >= 1000 ? 15 + Math.log(hz / 1000) / (Math.log(6.4) / 27) : (3 * hz) / 200);
const melToHz = (mel: number) => (mel >= 15 ? 1000 * Math.exp((Math.log(6.4) / 27) * (mel - 15)) : (200 * mel) / 3);

/** Slaney mel filter bank over the n_fft/2+1 bins of a 16 kHz spectrum (librosa's `mel(norm='slaney')`). */
export function slaneyMelFilters(nMels: number): MelFilter[] {
  const bins = N_FFT / 2 + 1;
  const binHz = (k: number) => (k * (SAMPLE_RATE / 2)) / (bins - 1);
  const top = hzToMel(MAX_MEL_HZ);
  const edges = Array.from({ length: nMels + 2 }, (_, i) => melToHz((top * i) / (nMels + 1)));
  return Array.from({ length: nMels }, (_, m) => {
    const [lo, centre, hi] = [edges[m], edges[m + 1], edges[m + 2]];
    const area = 2 / (hi - lo); // Slaney normalisation: constant energy per band
    const weights: number[] = [];
    let firstBin = -1;
    for (let k = 0; k < bins; k++) {
      const f = binHz(k);
      const w = Math.max(0, Math.min((f - lo) / (centre - lo), (hi - f) / (hi - centre))) * area;
      if (w > 0 && firstBin < 0) firstBin = k;
      if (firstBin >= 0 && k >= firstBin) weights.push(w);
    }
    while (weights.length > 0 && weights[weights.length - 1] === 0) weights.pop();
    return { firstBin: Math.max(firstBin, 0), weights: Float64Array.from(weights) };
  });
}

const periodicHann = Float64Array.from({ length: N_FFT }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N_FFT));

/** numpy's 'reflect' padding index (edge sample not repeated), bouncing as often as needed. */
function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const r = ((i % period) + period) % period;
  return r < n ? r : period - r;
}

// per worker: filter banks by n_mels, and one FFT plan
const filterBanks = new Map<number, MelFilter[]>();
let powerSpectrum: PowerSpectrum | undefined;

/** Log-mel features of 16 kHz mono samples: floor(samples / 160) frames. */
export function whisperLogMel(samples: Float32Array, nMels = 128): LogMel {
  const frames = Math.floor(samples.length / HOP);
  if (frames < 1) throw audioTooShort(`${samples.length} samples at 16 kHz give no ${HOP}-sample frame`);
  let filters = filterBanks.get(nMels);
  if (!filters) filterBanks.set(nMels, (filters = slaneyMelFilters(nMels)));
  powerSpectrum ??= createPowerSpectrum(N_FFT);

  const half = N_FFT / 2;
  const frame = new Float64Array(N_FFT);
  const power = new Float64Array(half + 1);
  const mel = new Float32Array(nMels * frames);
  let max = -Infinity;
  for (let f = 0; f < frames; f++) {
    const start = f * HOP - half; // centred frame: starts half a window before its sample
    if (start >= 0 && start + N_FFT <= samples.length) {
      for (let i = 0; i < N_FFT; i++) frame[i] = samples[start + i] * periodicHann[i];
    } else {
      for (let i = 0; i < N_FFT; i++) frame[i] = samples[reflect(start + i, samples.length)] * periodicHann[i];
    }
    powerSpectrum(frame, power);
    for (let m = 0; m < nMels; m++) {
      const { firstBin, weights } = filters[m];
      let sum = 0;
      for (let j = 0; j < weights.length; j++) sum += weights[j] * power[firstBin + j];
      const log = Math.log10(Math.max(sum, 1e-10));
      mel[m * frames + f] = log;
      if (log > max) max = log;
    }
  }
  const floor = max - 8;
  for (let i = 0; i < mel.length; i++) mel[i] = (Math.max(mel[i], floor) + 4) / 4;
  return { mel, frames, nMels };
}
