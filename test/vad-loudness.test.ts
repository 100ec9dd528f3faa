// Loudness normalisation for chunking_strategy "auto" (stages/silero-vad/loudness.ts):
// integrated loudness against ffmpeg's ebur128 filter (the bundled ffmpeg, a project
// dependency) on real speech, silence and noise; the gain it implies; and its purpose:
// speech 30 dB too quiet is found where it is at its own level, which it is not without.
import { spawnSync } from 'node:child_process';
import ffmpeg from '@ffmpeg-installer/ffmpeg';
import t from 'tap';
import { integratedLoudness, normalisingGain, TARGET_LUFS } from '../stages/silero-vad/loudness.js';
import { defaultModelPath, SileroVad } from '../stages/silero-vad/model.js';
import { SERVER_VAD_DEFAULTS, speechRegions } from '../stages/silero-vad/regions.js';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { jfkSamples, RATE } from './fixtures/vad/long-audio.js';
import { joinUtterances, readUtterances } from './fixtures/vad/librivox.js';

const utterances = readUtterances();
const recording = joinUtterances(utterances);
const scaled = (x: Float32Array, gain: number) => x.map((v) => v * gain);

/** ffmpeg's ebur128 integrated loudness (LUFS, printed to 0.1) of 32-bit float mono samples. */
function ffmpegLoudness(samples: Float32Array): number {
  const wav = buildWav({ formatTag: 3, channels: 1, sampleRate: RATE, bits: 32, data: new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength) });
  const run = spawnSync(ffmpeg.path, ['-hide_banner', '-nostats', '-f', 'wav', '-i', 'pipe:0', '-af', 'ebur128', '-f', 'null', '-'], { input: wav });
  const found = [...run.stderr.toString().matchAll(/I:\s+(-?[\d.]+|-inf) LUFS/g)].at(-1);
  if (!found) throw new Error(`no integrated loudness in ffmpeg's output: ${run.stderr.toString().slice(-400)}`);
  return found[1] === '-inf' ? -Infinity : Number(found[1]);
}

t.test('integrated loudness equals ffmpeg ebur128 within 0.25 LU', async (t) => {
  const cases: [string, Float32Array][] = [
    ['LibriVox 0880', utterances[0].samples],
    ['LibriVox 0930', utterances[1].samples],
    ['the joined recording (silence and -40 dBFS noise between)', recording.samples],
    ['the same 30 dB quieter', scaled(recording.samples, 10 ** (-30 / 20))],
    ['jfk.wav', jfkSamples()],
  ];
  for (const [name, samples] of cases) {
    const ours = integratedLoudness(samples, RATE);
    const theirs = ffmpegLoudness(samples);
    t.ok(Math.abs(ours - theirs) <= 0.25, `${name}: ${ours.toFixed(2)} vs ffmpeg ${theirs} LUFS`);
  }
  t.equal(integratedLoudness(new Float32Array(RATE * 3), RATE), -Infinity, 'digital silence has no loudness');
});

t.test('the gain brings speech to the target, leaves silence alone, and stays within bounds', async (t) => {
  for (const db of [-20, 0, 20]) {
    const level = scaled(recording.samples, 10 ** (db / 20));
    const after = integratedLoudness(scaled(level, normalisingGain(level, RATE)), RATE);
    t.ok(Math.abs(after - TARGET_LUFS) < 0.01, `recording at ${db} dB (${integratedLoudness(level, RATE).toFixed(1)} LUFS) normalised to ${after.toFixed(2)} LUFS`);
  }
  t.equal(normalisingGain(new Float32Array(RATE * 3), RATE), 1, 'silence: unchanged');
  const whisper = scaled(recording.samples, 10 ** (-40 / 20));
  t.equal(Math.round(20 * Math.log10(normalisingGain(whisper, RATE))), 30, '-65 LUFS: raised by 30 dB at most');
});

t.test('speech 30 dB too quiet: with the gain its regions are those of the original level', async (t) => {
  const vad = await SileroVad.load(defaultModelPath(), 'cpu', 1);
  t.teardown(() => vad.dispose());
  const quiet = scaled(recording.samples, 10 ** (-30 / 20));
  const chain = { laneWindows: 1 << 30, warmupWindows: 0, maxBatch: 16 };
  const unpadded = { ...SERVER_VAD_DEFAULTS, prefix_padding_ms: 0 };
  const [original, raw, normalised] = await vad.probabilities([recording.samples, quiet, quiet], { ...chain, gains: [1, 1, normalisingGain(quiet, RATE)] });
  const starts = (p: Float32Array) => speechRegions(p, quiet.length, unpadded).map((r) => r.start);
  const worst = (a: number[], b: number[]) => (a.length === b.length ? Math.max(...a.map((x, i) => Math.abs(x - b[i]))) : Infinity);
  const errRaw = worst(starts(raw), starts(original));
  const errNorm = worst(starts(normalised), starts(original));
  t.comment(`worst start vs original level: ${(errRaw * 1000).toFixed(0)} ms without the gain, ${(errNorm * 1000).toFixed(0)} ms with it`);
  t.ok(errNorm <= 0.064, 'with the gain every region starts within two windows of where it does at the original level');
  t.ok(errRaw > 0.1, 'without it at least one start is found over 100 ms late (the reason for the gain)');
});
