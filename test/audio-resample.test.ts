// Resampler quality on pure tones (the numbers), rate and channel handling,
// and Qwen3-ASR's peak normalisation.
import t from 'tap';
import { downmixToMono, normalizePeak, resample, Resampler, resampleTo16kMono } from '../stages/audio/resample.js';

const tone = (hz: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));

/** Power of `y` in dB relative to a tone of `amplitude`, away from the filter's edge effects. */
function levelDb(y: Float32Array, amplitude: number): number {
  let power = 0;
  const from = 4000;
  const to = y.length - 4000;
  for (let n = from; n < to; n++) power += y[n] * y[n];
  return 10 * Math.log10(power / (to - from) / ((amplitude * amplitude) / 2));
}

/** SNR (dB) of `y` against the ideal tone at 16 kHz. */
function snrDb(y: Float32Array, hz: number, amplitude: number): number {
  let signal = 0;
  let error = 0;
  for (let n = 4000; n < y.length - 4000; n++) {
    const ideal = amplitude * Math.sin((2 * Math.PI * hz * n) / 16000);
    signal += ideal * ideal;
    error += (y[n] - ideal) ** 2;
  }
  return 10 * Math.log10(signal / error);
}

t.test('a 9 kHz tone at 48 kHz aliases below -100 dB', async (t) => {
  for (const rate of [48000, 44100]) {
    const level = levelDb(resample(tone(9000, rate, 1), rate, 16000), 0.5);
    t.ok(level < -100, `${rate} Hz: ${level.toFixed(1)} dB`);
  }
  const at8k5 = levelDb(resample(tone(8500, 48000, 1), 48000, 16000), 0.5);
  t.ok(at8k5 < -100, `8.5 kHz: ${at8k5.toFixed(1)} dB`);
});

t.test('a 1 kHz tone keeps an SNR above 100 dB', async (t) => {
  for (const rate of [48000, 44100, 22050, 8000, 96000, 44056]) {
    const snr = snrDb(resample(tone(1000, rate, 1), rate, 16000), 1000, 0.5);
    t.ok(snr > 100, `${rate} Hz: ${snr.toFixed(1)} dB`);
  }
});

t.test('the passband reaches 7 kHz', async (t) => {
  const snr = snrDb(resample(tone(7000, 44100, 1), 44100, 16000), 7000, 0.5);
  t.ok(snr > 80, `7 kHz SNR ${snr.toFixed(1)} dB`);
});

t.test('output length and time alignment', async (t) => {
  t.equal(resample(new Float32Array(44100), 44100, 16000).length, 16000);
  t.equal(resample(new Float32Array(44101), 44100, 16000).length, 16001, 'ceil(n · 16000 / 44100)');
  t.equal(resample(new Float32Array(8000), 8000, 16000).length, 16000);
  // a constant stays exactly constant away from the edges (unit DC gain per phase)
  const dc = resample(new Float32Array(4800).fill(0.25), 48000, 16000);
  t.ok(Math.abs(dc[800] - 0.25) < 1e-6, `DC ${dc[800]}`);
});

t.test('16 kHz mono passes through untouched', async (t) => {
  const x = tone(440, 16000, 0.1);
  t.equal(resampleTo16kMono([x], 16000), x, 'same array: no resampling, no copy');
});

t.test('downmix is the mean of the channels', async (t) => {
  const left = Float32Array.from([1, 0.5, -1]);
  const right = Float32Array.from([0, 0.5, 0]);
  t.same([...downmixToMono([left, right])], [0.5, 0.5, -0.5]);
  const mono = resampleTo16kMono([tone(1000, 16000, 1), new Float32Array(16000)], 16000);
  t.equal(mono.length, 16000);
  t.ok(snrDb(mono, 1000, 0.25) > 130, 'stereo 16 kHz is downmixed, not resampled');
});

t.test('peak normalisation as Qwen3-ASR does it', async (t) => {
  const quiet = Float32Array.from([0.5, -1, 0.25]);
  t.equal(normalizePeak(quiet), quiet, 'peak ≤ 1: unchanged');
  const loud = Float32Array.from([1, -4, 2]);
  t.same([...normalizePeak(loud)], [0.25, -1, 0.5], 'peak > 1: divided by the peak');
  t.same([...loud], [1, -4, 2], 'input not modified');
});

t.test('cost per second of audio is bounded whatever the rate (issue 11: 383,990 Hz took a 4163-tap filter)', async (t) => {
  // multiply-adds counted by the resampler itself, for one second of input at each rate
  const MAX_PER_SECOND = 25e6; // the single filter at 383,990 Hz was 67 M
  for (const rate of [8000, 22050, 44100, 48000, 63999, 64000, 96000, 192000, 383990, 384000]) {
    const resampler = new Resampler(rate, 16000);
    resampler.push(new Float32Array(rate));
    resampler.finish();
    t.ok(resampler.multiplyAdds <= MAX_PER_SECOND, `${rate} Hz: ${(resampler.multiplyAdds / 1e6).toFixed(1)} M multiply-adds per second of audio`);
  }
});

t.test('high rates: two-stage conversion keeps the accuracy', async (t) => {
  for (const rate of [96000, 192000, 383990]) {
    const snr = snrDb(resample(tone(1000, rate, 1), rate, 16000), 1000, 0.5);
    t.ok(snr > 100, `${rate} Hz 1 kHz tone: SNR ${snr.toFixed(1)} dB`);
    const alias = levelDb(resample(tone(9000, rate, 1), rate, 16000), 0.5);
    t.ok(alias < -100, `${rate} Hz 9 kHz tone aliases at ${alias.toFixed(1)} dB`);
  }
});

t.test('streaming in pieces gives the one-shot result exactly', async (t) => {
  for (const rate of [44100, 48000, 383990]) {
    const x = tone(440, rate, 0.5);
    const whole = resample(x, rate, 16000);
    const resampler = new Resampler(rate, 16000);
    const pieces: number[] = [];
    for (let at = 0; at < x.length; at += 777) pieces.push(...resampler.push(x.subarray(at, at + 777)));
    pieces.push(...resampler.finish());
    t.same(Float32Array.from(pieces), whole, `${rate} Hz in 777-sample pieces`);
  }
});
