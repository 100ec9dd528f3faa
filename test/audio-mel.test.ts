// Log-mel features against transformers.js' WhisperFeatureExtractor on real speech
// (whisper.cpp's jfk.wav), the frame count rule, and long-audio segmentation.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ItemContext } from '../src/runtime/contracts.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { createPowerSpectrum } from '../stages/audio/fft.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { splitAtQuietPoints } from '../stages/audio/segment.js';
import melPlugin from '../stages/audio/whisper-mel-stage.js';
import { maxAbsDiff, referenceLogMel } from './fixtures/audio/reference-mel.js';
import { createDescribedStage } from './fixtures/stages/described-stage.js';

const jfkBytes = new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));
const jfk = (await decodeAudio(jfkBytes, { maxDurationS: 60 })).channels[0];

t.test('jfk.wav: max abs difference from the reference below 1e-4', async (t) => {
  const ours = whisperLogMel(jfk);
  const ref = await referenceLogMel(jfk);
  t.equal(ours.frames, 1100, '11 s → 1100 frames, no padding to 30 s');
  t.equal(ours.mel.length, 128 * 1100);
  const diff = maxAbsDiff(ours.mel, ref.mel);
  t.ok(diff < 1e-4, `max abs diff ${diff.toExponential(2)}`);
});

t.test('lengths that are not a multiple of the hop', async (t) => {
  for (const length of [12345, 401, 160 * 37 + 159]) {
    const clip = jfk.subarray(30000, 30000 + length);
    const ours = whisperLogMel(clip);
    t.equal(ours.frames, Math.floor(length / 160), `${length} samples`);
    const diff = maxAbsDiff(ours.mel, (await referenceLogMel(clip)).mel);
    t.ok(diff < 1e-4, `${length} samples: max abs diff ${diff.toExponential(2)}`);
  }
});

t.test('80 mel bins (Whisper v1-v2 layout) match too', async (t) => {
  const clip = jfk.subarray(0, 48000);
  const diff = maxAbsDiff(whisperLogMel(clip, 80).mel, (await referenceLogMel(clip, 80)).mel);
  t.ok(diff < 1e-4, `max abs diff ${diff.toExponential(2)}`);
});

t.test('fewer samples than one hop are refused', async (t) => {
  t.throws(() => whisperLogMel(new Float32Array(159)), { code: 'ERR_AUDIO_TOO_SHORT', kind: 'invalid_input', param: 'file' });
  t.equal(whisperLogMel(jfk.subarray(0, 160)).frames, 1, 'one hop gives one frame (reflect padding bounces)');
});

t.test('splitAtQuietPoints cuts inside the quietest window near each boundary', async (t) => {
  const rate = 16000;
  // 25 s of noise with silent 200 ms gaps at 9.3 s and 18.6 s (and a decoy gap outside the search range at 7 s)
  let seed = 1;
  const x = Float32Array.from({ length: 25 * rate }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2);
  for (const gap of [7, 9.3, 18.6]) x.fill(0, gap * rate, (gap + 0.2) * rate);
  const bounds = splitAtQuietPoints(x, { sampleRate: rate, maxSegmentS: 10, searchS: 1 });
  t.equal(bounds.length, 3);
  t.equal(bounds[0].start, 0);
  t.equal(bounds[2].end, x.length);
  t.equal(bounds[0].end, bounds[1].start, 'segments are contiguous');
  t.ok(bounds[0].end >= 9.35 * rate && bounds[0].end <= 9.45 * rate, `first cut ${bounds[0].end / rate} s in the 9.3 s gap`);
  t.ok(bounds[1].end >= 18.65 * rate && bounds[1].end <= 18.75 * rate, `second cut ${bounds[1].end / rate} s in the 18.6 s gap`);
  t.equal(bounds[0].end % 160, 0, 'cuts fall on hop boundaries');
  t.same(splitAtQuietPoints(x, { sampleRate: rate, maxSegmentS: 25, searchS: 1 }), [{ start: 0, end: x.length }]);
});

const ctx: ItemContext = { id: 'test', emit() {}, cancelled: false, onCancel() {} };

t.test('the stage emits one independently normalised mel per segment', async (t) => {
  const stage = await createDescribedStage(melPlugin.name, { options: { max_segment_s: 4, search_s: 1 } });
  const [result] = await stage.process([{ payload: { samples: jfk, sampleRate: 16000, filename: 'jfk.wav' }, ctx }]);
  if (!result.ok) throw new Error(result.error.message);
  const { segments, duration, filename, samples } = result.payload as {
    segments: { start: number; end: number; mel: Float32Array; frames: number }[]; duration: number; filename: string; samples?: unknown;
  };
  t.equal(duration, 11);
  t.equal(filename, 'jfk.wav', 'other keys pass through');
  t.equal(samples, undefined, 'samples are consumed');
  t.ok(segments.length === 3, `${segments.length} segments`);
  t.equal(segments[0].start, 0);
  t.equal(segments.at(-1)!.end, 11);
  for (const s of segments) {
    const clip = jfk.subarray(Math.round(s.start * 16000), Math.round(s.end * 16000));
    t.ok(s.end - s.start <= 5, `segment ${s.start}-${s.end} s within max + search`);
    t.equal(s.frames, Math.floor(clip.length / 160));
    const diff = maxAbsDiff(s.mel, (await referenceLogMel(clip)).mel);
    t.ok(diff < 1e-4, `segment ${s.start}-${s.end} s: max abs diff ${diff.toExponential(2)}`);
  }
});

t.test('the mixed-radix FFT equals a direct DFT for every radix path', async (t) => {
  for (const n of [400, 512, 30, 14, 250]) {
    const frame = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + ((i * 7) % 5) / 5);
    const power = new Float64Array(n / 2 + 1);
    createPowerSpectrum(n)(frame, power);
    let worst = 0;
    for (let k = 0; k <= n / 2; k++) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < n; i++) (re += frame[i] * Math.cos((2 * Math.PI * k * i) / n)), (im -= frame[i] * Math.sin((2 * Math.PI * k * i) / n));
      worst = Math.max(worst, Math.abs(re * re + im * im - power[k]) / Math.max(1, re * re + im * im));
    }
    t.ok(worst < 1e-10, `n = ${n}: relative error ${worst.toExponential(1)}`);
  }
});
