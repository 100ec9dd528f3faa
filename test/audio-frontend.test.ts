// The issue's key check, through the three plugins' process(): a 44.1 kHz stereo MP3 of
// real speech becomes 16 kHz mono (matching sox's very-high-quality resample of the same
// decoded audio) and mel features equal to the reference extractor's on that audio.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ItemContext, Payload, StageInstance, StagePlugin } from '../src/runtime/contracts.js';
import { repoRoot } from '../src/util/paths.js';
import decodePlugin from '../stages/audio/decode-stage.js';
import { decodeAudio } from '../stages/audio/decode.js';
import resamplePlugin from '../stages/audio/resample-stage.js';
import melPlugin from '../stages/audio/whisper-mel-stage.js';
import { maxAbsDiff, referenceLogMel } from './fixtures/audio/reference-mel.js';
import { createDescribedStage } from './fixtures/stages/described-stage.js';

const fixture = (name: string) => fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name));
const ctx: ItemContext = { id: 'test', emit() {}, cancelled: false, onCancel() {} };

async function create(plugin: StagePlugin, options: Record<string, unknown> = {}): Promise<StageInstance> {
  return createDescribedStage(plugin.name, { options });
}
const [decode, resample, mel] = await Promise.all([create(decodePlugin), create(resamplePlugin), create(melPlugin)]);

async function run(stage: StageInstance, payload: Payload): Promise<Payload> {
  const [result] = await stage.process([{ payload, ctx }]);
  if (!result.ok) throw Object.assign(new Error(result.error.message), result.error);
  return result.payload;
}

/** What the router hands the pipeline: the upload as a standalone ArrayBuffer. */
function upload(name: string): Payload {
  const bytes = fixture(name);
  const audio = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
  return { audio, filename: name, contentType: 'audio/mpeg', params: { temperature: 0, stream: false, response_format: 'json' } };
}

t.test('44.1 kHz stereo MP3 → decode (to 16 kHz mono) → resample (peak) → whisper-mel', async (t) => {
  const decoded = await run(decode, upload('jfk-44k-stereo.mp3'));
  // decoding downmixes and resamples as it goes: the 44.1 kHz stereo samples are never held whole
  t.equal(decoded.sampleRate, 16000);
  t.equal((decoded.channels as Float32Array[]).length, 1);
  t.equal(decoded.audio, undefined, 'the upload bytes are consumed');
  t.equal(decoded.filename, 'jfk-44k-stereo.mp3', 'other keys pass through');

  const resampled = await run(resample, decoded);
  const samples = resampled.samples as Float32Array;
  t.equal(resampled.sampleRate, 16000);
  t.equal(resampled.duration, 11);
  t.equal(samples.length, 176000);

  // sox `remix 1v0.5,2v0.5 rate -v 16000` of the same decoded MP3 (make-fixtures.sh)
  const sox = (await decodeAudio(fixture('jfk-44k-stereo.sox16k.wav'), { maxDurationS: 60 })).channels[0];
  let error = 0;
  let signal = 0;
  for (let i = 0; i < sox.length; i++) (error += (samples[i] - sox[i]) ** 2), (signal += sox[i] ** 2);
  const snr = 10 * Math.log10(signal / error);
  const worst = maxAbsDiff(samples, sox);
  // the two filters differ only in their transition bands (ours 7.28-8 kHz, sox's 7.6-8 kHz)
  t.ok(snr > 90, `waveform vs sox: SNR ${snr.toFixed(1)} dB > 90 dB`);
  t.ok(worst < 2e-4, `waveform vs sox: max abs diff ${worst.toExponential(2)} < 2e-4`);

  const features = await run(mel, resampled);
  const segments = features.segments as { start: number; end: number; mel: Float32Array; frames: number }[];
  t.equal(segments.length, 1);
  t.match(segments[0], { start: 0, end: 11, frames: 1100 });
  t.equal(features.samples, undefined, 'samples are consumed');
  const reference = await referenceLogMel(samples);
  const diff = maxAbsDiff(segments[0].mel, reference.mel);
  t.ok(diff < 1e-4, `mel vs reference extractor on the same audio: max abs diff ${diff.toExponential(2)}`);

  // and against the mel of sox's resample: equal below the top three bands (the resamplers' transition bands)
  const soxMel = await referenceLogMel(sox);
  const below = 125 * 1100;
  const lowDiff = maxAbsDiff(segments[0].mel.subarray(0, below), soxMel.mel.subarray(0, below));
  t.ok(lowDiff < 1e-3, `mel bands 0-124 vs sox-resampled reference: max abs diff ${lowDiff.toExponential(2)}`);
});

t.test('16 kHz mono WAV goes through untouched to the same features as the reference', async (t) => {
  const resampled = await run(resample, await run(decode, upload('jfk.wav')));
  const features = await run(mel, resampled);
  const [segment] = features.segments as { mel: Float32Array; frames: number }[];
  const jfk = (await decodeAudio(fixture('jfk.wav'), { maxDurationS: 60 })).channels[0];
  t.same(resampled.samples, jfk, 'samples are the WAV samples');
  const diff = maxAbsDiff(segment.mel, (await referenceLogMel(jfk)).mel);
  t.ok(diff < 1e-4, `max abs diff ${diff.toExponential(2)}`);
});

t.test('per-item errors come back as results, not throws', async (t) => {
  const garbage = new Uint8Array(3000).fill(7).buffer;
  const results = await decode.process([
    { payload: { audio: garbage }, ctx },
    { payload: upload('clip.flac'), ctx },
    { payload: { filename: 'x' }, ctx },
  ]);
  t.match(results[0], { ok: false, error: { code: 'ERR_AUDIO_UNSUPPORTED', kind: 'unsupported_media', param: 'file' } });
  t.match(results[1], { ok: true, payload: { sampleRate: 16000, duration: 3 } });
  t.match(results[2], { ok: false, error: { code: 'ERR_BAD_PAYLOAD', kind: 'internal' } });
  const tooLong = await create(decodePlugin, { max_duration_s: 10 });
  const [long] = await tooLong.process([{ payload: upload('jfk.wav'), ctx }]);
  t.match(long, { ok: false, error: { code: 'ERR_AUDIO_TOO_LONG', kind: 'too_long', param: 'file' } });
  const [short] = await mel.process([{ payload: { samples: new Float32Array(100), sampleRate: 16000 }, ctx }]);
  t.match(short, { ok: false, error: { code: 'ERR_AUDIO_TOO_SHORT', kind: 'invalid_input' } });
});
