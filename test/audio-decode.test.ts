// Compressed formats and containers: each fixture is the first 3 s of jfk.wav,
// encoded by ffmpeg (see fixtures/audio/make-fixtures.sh). Lossless FLAC must match
// the source exactly; lossy ones must correlate with it (SNR after best alignment).
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { decodeAudio } from '../stages/audio/decode.js';
import { findFirstMpegFrame, readMpegFrameHeader } from '../stages/audio/mpeg-audio-header.js';
import { probeDuration } from '../stages/audio/probe.js';
import { resampleTo16kMono } from '../stages/audio/resample.js';
import { repoRoot } from '../src/util/paths.js';
import { buildConstantFlac } from './fixtures/audio/flac-writer.js';

const dir = path.join(repoRoot(), 'test/fixtures/audio');
const read = (name: string) => new Uint8Array(fs.readFileSync(path.join(dir, name)));
const opts = { maxDurationS: 100 };
const source = (await decodeAudio(read('jfk.wav'), opts)).channels[0];

/** Best SNR (dB) of `y` against the source scaled by `gain`, over lags within ±20 ms. */
function snrAgainstSource(y: Float32Array, gain: number): number {
  let best = -Infinity;
  for (let lag = -320; lag <= 320; lag++) {
    let signal = 0;
    let error = 0;
    for (let n = 1000; n < Math.min(y.length, 47000); n++) {
      const x = source[n + lag] * gain;
      signal += x * x;
      error += (y[n] - x) ** 2;
    }
    best = Math.max(best, 10 * Math.log10(signal / error));
  }
  return best;
}

/** clip.webm with its Segment Info Duration element renamed to an id readers skip, like MediaRecorder output. */
function webmWithoutDuration(): Uint8Array {
  const webm = read('clip.webm');
  const at = webm.findIndex((b, i) => b === 0x44 && webm[i + 1] === 0x89 && (webm[i + 2] === 0x84 || webm[i + 2] === 0x88));
  webm[at + 1] = 0x8a;
  return webm;
}

const lossy: [file: string, rate: number, channels: number, minSnrDb: number][] = [
  ['clip-44k-stereo.ogg', 44100, 2, 15], // Ogg Vorbis (WASM)
  ['clip.opus', 48000, 1, 12], // Ogg Opus (WASM)
  ['clip-moov-at-end.m4a', 44100, 2, 15], // AAC in MP4, moov after mdat (ffmpeg, temp file)
  ['clip-with-video.mp4', 16000, 1, 15], // audio is not the only stream
  ['clip.webm', 48000, 1, 12], // Opus in WebM (ffmpeg)
  ['clip.mpeg', 44100, 2, 10], // MP2 in MPEG-PS (ffmpeg)
];

for (const [file, rate, channels, minSnr] of lossy) {
  t.test(file, async (t) => {
    const decoded = await decodeAudio(read(file), opts);
    t.equal(decoded.sourceRate, rate, 'native rate');
    t.equal(decoded.sourceChannels, channels, 'native channels');
    t.same([decoded.sampleRate, decoded.channels.length], [16000, 1], 'delivered as 16 kHz mono');
    t.ok(Math.abs(decoded.duration - 3) < 0.05, `duration ${decoded.duration} ≈ 3 s`);
    // stereo fixtures carry the right channel at half level: the mean is 0.75 × source
    const snr = snrAgainstSource(resampleTo16kMono(decoded.channels, decoded.sampleRate), channels === 2 ? 0.75 : 1);
    t.ok(snr > minSnr, `SNR ${snr.toFixed(1)} dB > ${minSnr} dB`);
  });
}

t.test('FLAC is lossless', async (t) => {
  const decoded = await decodeAudio(read('clip.flac'), opts);
  t.equal(decoded.sourceRate, 16000);
  t.same(decoded.channels[0], source.subarray(0, 48000));
});

t.test('MP3 (44.1 kHz stereo)', async (t) => {
  const decoded = await decodeAudio(read('jfk-44k-stereo.mp3'), opts);
  t.same([decoded.sourceRate, decoded.sourceChannels], [44100, 2]);
  t.equal(decoded.duration, 11, 'gapless: encoder delay and padding removed');
  t.equal(decoded.channels[0].length, 11 * 16000);
  const snr = snrAgainstSource(decoded.channels[0], 0.75);
  t.ok(snr > 20, `SNR ${snr.toFixed(1)} dB`);
});

t.test('probeDuration reads headers without decoding', async (t) => {
  const near = (file: string, want: number, tol: number) => {
    const got = probeDuration(read(file));
    t.ok(got !== null && Math.abs(got - want) <= tol, `${file}: ${got} ≈ ${want}`);
  };
  near('jfk.wav', 11, 0);
  near('jfk-44k-stereo.mp3', 11, 0.06); // Xing frame count includes the encoder delay
  near('clip.flac', 3, 0);
  near('clip-44k-stereo.ogg', 3, 0.001);
  near('clip.opus', 3, 0.01);
  near('clip-moov-at-end.m4a', 3, 0.05);
  near('clip-with-video.mp4', 3, 0.1); // the sound track's length, not the video's
  near('clip.webm', 3, 0.01);
  t.equal(probeDuration(webmWithoutDuration()), null, 'WebM without Duration (live recording): left to the decoder');
  // MP3 without a Xing header: frames are walked, not guessed from the first bitrate
  const mp3 = read('jfk-44k-stereo.mp3');
  const first = findFirstMpegFrame(mp3);
  const withoutXing = mp3.subarray(first + readMpegFrameHeader(mp3, first)!.frameLength);
  t.equal(findFirstMpegFrame(withoutXing), 0);
  const walked = probeDuration(withoutXing)!;
  t.ok(Math.abs(walked - 11.05) < 0.05, `frames walked: ${walked} s`);
});

t.test('over-long files are refused from headers', async (t) => {
  for (const file of ['jfk-44k-stereo.mp3', 'clip.flac', 'clip.opus', 'clip-moov-at-end.m4a'])
    await t.rejects(decodeAudio(read(file), { maxDurationS: 2 }), { code: 'ERR_AUDIO_TOO_LONG', kind: 'too_long', param: 'file' }, file);
  await t.rejects(decodeAudio(read('clip.webm'), { maxDurationS: 2 }), { code: 'ERR_AUDIO_TOO_LONG' }, 'WebM');
  // without a declared duration the decoded length decides
  await t.rejects(decodeAudio(webmWithoutDuration(), { maxDurationS: 2 }), { code: 'ERR_AUDIO_TOO_LONG' }, 'WebM without Duration');
});

t.test('decoded samples are bounded by the cap in 48 kHz stereo terms, whatever the layout', async (t) => {
  // 5 s is within a 10 s cap, but 8 channels at 384 kHz are 32x the samples of 48 kHz stereo
  const wide = buildConstantFlac({ seconds: 5, declaredSamples: 0, sampleRate: 384000, channels: 8 });
  await t.rejects(decodeAudio(wide, { maxDurationS: 10 }), { code: 'ERR_AUDIO_TOO_LONG', kind: 'too_long', message: /8 channels at 384000 Hz/ });
  const ok = await decodeAudio(buildConstantFlac({ seconds: 5, declaredSamples: 0, sampleRate: 48000, channels: 2 }), { maxDurationS: 10 });
  t.same([ok.sourceChannels, ok.sourceRate], [2, 48000], '48 kHz stereo within the cap decodes');
  t.ok(Math.abs(ok.duration - 5) < 32768 / 48000, `${ok.duration} s`);
});

t.test('garbage and truncated uploads get named errors', async (t) => {
  const garbage = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7919 + 13) % 251);
  const mp3SyncThenGarbage = garbage.slice();
  mp3SyncThenGarbage.set([0xff, 0xfb, 0x90, 0x64]);
  const cases: [string, Uint8Array, string, string][] = [
    ['empty', new Uint8Array(0), 'ERR_AUDIO_EMPTY', 'invalid_input'],
    ['garbage', garbage, 'ERR_AUDIO_UNSUPPORTED', 'unsupported_media'],
    ['one MP3 frame header, then garbage', mp3SyncThenGarbage, 'ERR_AUDIO_UNSUPPORTED', 'unsupported_media'],
    ['FLAC headers only', read('clip.flac').subarray(0, 100), 'ERR_AUDIO_DECODE', 'invalid_input'],
    ['Ogg Vorbis first page only', read('clip-44k-stereo.ogg').subarray(0, 200), 'ERR_AUDIO_DECODE', 'invalid_input'],
    ['Ogg Opus headers only', read('clip.opus').subarray(0, 100), 'ERR_AUDIO_DECODE', 'invalid_input'],
    ['M4A cut before its moov box', read('clip-moov-at-end.m4a').subarray(0, 10000), 'ERR_AUDIO_DECODE', 'invalid_input'],
    ['WebM header only', read('clip.webm').subarray(0, 300), 'ERR_AUDIO_DECODE', 'invalid_input'],
  ];
  for (const [name, bytes, code, kind] of cases) await t.rejects(decodeAudio(bytes, opts), { code, kind, param: 'file' }, name);
  // a stream cut mid-way decodes up to the cut, as players do
  const half = await decodeAudio(read('jfk-44k-stereo.mp3').subarray(0, 60000), opts);
  t.ok(half.duration > 4.5 && half.duration < 5.5, `half an MP3 gives ${half.duration} s`);
});

t.test('a short upload decoded after a long one finishes first (decoders take turns)', async (t) => {
  // what the decode stage's worker does with concurrency > 1: two decodes on one event loop
  const hostile = buildConstantFlac({ seconds: 120, declaredSamples: 0, sampleRate: 383990, channels: 1 }); // issue 11's
  const order: string[] = [];
  const long = decodeAudio(hostile, { maxDurationS: 1000 }).then(() => order.push('hostile'));
  const short = decodeAudio(read('jfk.wav'), opts).then(() => order.push('normal'));
  await Promise.all([long, short]);
  t.same(order, ['normal', 'hostile']);
});

t.test('decoded memory is the 16 kHz result, whatever the source layout', async (t) => {
  // 20 s of 8 channels at 384 kHz: 246 MB as source floats, 1.3 MB at 16 kHz mono
  const decoded = await decodeAudio(buildConstantFlac({ seconds: 20, declaredSamples: 0, sampleRate: 384000, channels: 8 }), { maxDurationS: 1000 });
  t.same([decoded.sourceRate, decoded.sourceChannels], [384000, 8]);
  t.ok(Math.abs(decoded.channels[0].length - 20 * 16000) <= 65536 / 24, `${decoded.channels[0].length} samples at 16 kHz`);
  t.equal(decoded.channels[0].buffer.byteLength, decoded.channels[0].length * 4, 'the buffer holds nothing more');
});
