// WAV reading: every sample format, generated here with known values, and the
// malformed headers that must be refused with a named error.
import t from 'tap';
import { decodeAudio } from '../stages/audio/decode.js';
import { probeDuration } from '../stages/audio/probe.js';
import { downmixToMono, resample } from '../stages/audio/resample.js';
import { decodeWavSamples, readWavLayout } from '../stages/audio/wav.js';
import { buildWav, type WavSpec } from './fixtures/audio/wav-writer.js';

const FRAMES = 1000;
const opts = { maxDurationS: 60 };

/** The reader alone: planar samples at the file's own rate and channel count. */
function readWav(bytes: Uint8Array): { sampleRate: number; channels: Float32Array[] } {
  const layout = readWavLayout(bytes);
  return { sampleRate: layout.sampleRate, channels: decodeWavSamples(bytes, layout) };
}

/** Interleaved bytes with pseudo-random samples, and the floats the reader must return. */
function samples(formatTag: number, bits: number, channels: number): { data: Uint8Array; expected: Float32Array[] } {
  const data = new Uint8Array(FRAMES * channels * (bits / 8));
  const dv = new DataView(data.buffer);
  const expected = Array.from({ length: channels }, () => new Float32Array(FRAMES));
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1; // [-1, 1)
  for (let i = 0; i < FRAMES; i++)
    for (let c = 0; c < channels; c++) {
      const at = (i * channels + c) * (bits / 8);
      const v = rand();
      if (formatTag === 3 && bits === 32) dv.setFloat32(at, v, true), (expected[c][i] = v);
      else if (formatTag === 3) dv.setFloat64(at, v, true), (expected[c][i] = v);
      else if (bits === 8) {
        const code = Math.floor((v + 1) * 128); // unsigned, 128 = silence
        dv.setUint8(at, code);
        expected[c][i] = (code - 128) / 128;
      } else {
        const full = 2 ** (bits - 1);
        const code = Math.floor(v * full);
        if (bits === 16) dv.setInt16(at, code, true);
        if (bits === 24) dv.setUint16(at, code & 0xffff, true), dv.setInt8(at + 2, code >> 16);
        if (bits === 32) dv.setInt32(at, code, true);
        expected[c][i] = code / full;
      }
    }
  return { data, expected };
}

const variants: [string, Omit<WavSpec, 'data'>][] = [
  ['PCM 8-bit mono', { formatTag: 1, bits: 8, channels: 1, sampleRate: 8000 }],
  ['PCM 16-bit stereo', { formatTag: 1, bits: 16, channels: 2, sampleRate: 44100 }],
  ['PCM 24-bit stereo', { formatTag: 1, bits: 24, channels: 2, sampleRate: 48000 }],
  ['PCM 32-bit mono', { formatTag: 1, bits: 32, channels: 1, sampleRate: 16000 }],
  ['float32 stereo', { formatTag: 3, bits: 32, channels: 2, sampleRate: 22050 }],
  ['float64 mono', { formatTag: 3, bits: 64, channels: 1, sampleRate: 96000 }],
  ['EXTENSIBLE PCM 24-bit 6 channels', { formatTag: 1, bits: 24, channels: 6, sampleRate: 48000, extensible: true }],
  ['EXTENSIBLE float32 stereo, extra chunk', { formatTag: 3, bits: 32, channels: 2, sampleRate: 32000, extensible: true, extraChunk: true }],
];

for (const [name, spec] of variants) {
  t.test(name, async (t) => {
    const { data, expected } = samples(spec.formatTag, spec.bits, spec.channels);
    const wav = buildWav({ ...spec, data });
    const read = readWav(wav);
    t.equal(read.sampleRate, spec.sampleRate);
    t.equal(read.channels.length, spec.channels);
    for (let c = 0; c < spec.channels; c++) t.same(read.channels[c], expected[c], `channel ${c} exact`);
    // decoding gives the mean of the channels at 16 kHz, in a buffer of its own
    const decoded = await decodeAudio(wav, opts);
    t.same([decoded.sourceRate, decoded.sourceChannels, decoded.sampleRate, decoded.channels.length], [spec.sampleRate, spec.channels, 16000, 1]);
    t.equal(decoded.duration, FRAMES / spec.sampleRate);
    t.same(decoded.channels[0], resample(downmixToMono(expected), spec.sampleRate, 16000), 'downmixed and resampled as the one-shot functions do');
    t.equal(decoded.channels[0].buffer.byteLength, decoded.channels[0].length * 4, 'owns its buffer');
  });
}

t.test('streamed and truncated data sizes read what is present', async (t) => {
  const { data, expected } = samples(1, 16, 2);
  for (const declared of [0, 0xffffffff, data.length * 10]) {
    const read = readWav(buildWav({ formatTag: 1, bits: 16, channels: 2, sampleRate: 16000, data, declaredDataSize: declared }));
    t.same(read.channels[1], expected[1], `declared ${declared}`);
  }
  // cut mid-frame: the partial frame is dropped
  const cut = buildWav({ formatTag: 1, bits: 16, channels: 2, sampleRate: 16000, data }).subarray(0, 44 + 401 * 4 + 3);
  const decoded = await decodeAudio(cut, opts);
  t.equal(decoded.channels[0].length, 401);
});

t.test('12-bit PCM in 16-bit containers reads as its container', async (t) => {
  const { data, expected } = samples(1, 16, 1);
  const wav = buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 16000, data });
  new DataView(wav.buffer).setUint16(34, 12, true); // bits per sample 12, block align stays 2
  t.same((await decodeAudio(wav, opts)).channels[0], expected[0]);
});

t.test('WAV codecs other than PCM and float go through ffmpeg', async (t) => {
  // G.711 mu-law: 0xFF is +0, 0x80 is the largest positive code (32124 / 32768)
  const data = Uint8Array.from({ length: 800 }, (_, i) => (i % 2 ? 0xff : 0x80));
  const decoded = await decodeAudio(buildWav({ formatTag: 7, bits: 8, channels: 1, sampleRate: 8000, data }), opts);
  t.equal(decoded.sourceRate, 8000);
  // ffmpeg's samples, resampled here: the same as resampling the known mu-law values
  const expected = Float32Array.from({ length: 800 }, (_, i) => (i % 2 ? 0 : 32124 / 32768));
  t.same(decoded.channels[0], resample(expected, 8000, 16000));
});

t.test('NaN and Infinity in float WAV become 0', async (t) => {
  const data = new Uint8Array(16);
  new Float32Array(data.buffer).set([0.5, NaN, Infinity, -Infinity]);
  const decoded = await decodeAudio(buildWav({ formatTag: 3, bits: 32, channels: 1, sampleRate: 16000, data }), opts);
  t.same([...decoded.channels[0]], [0.5, 0, 0, 0]);
});

t.test('bad headers are refused with named errors', async (t) => {
  const data = new Uint8Array(400);
  const cases: [string, Uint8Array, string][] = [
    ['0 channels', buildWav({ formatTag: 1, bits: 16, channels: 0, sampleRate: 16000, data }), 'ERR_AUDIO_DECODE'],
    ['65 channels', buildWav({ formatTag: 1, bits: 16, channels: 65, sampleRate: 16000, data }), 'ERR_AUDIO_DECODE'],
    ['999 Hz', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 999, data }), 'ERR_AUDIO_DECODE'],
    ['384001 Hz', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 384001, data }), 'ERR_AUDIO_DECODE'],
    ['no samples', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 16000, data: new Uint8Array(0) }), 'ERR_AUDIO_EMPTY'],
    ['header only', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 16000, data }).subarray(0, 36), 'ERR_AUDIO_DECODE'],
    ['unknown codec tag', buildWav({ formatTag: 0x1234, bits: 16, channels: 1, sampleRate: 16000, data }), 'ERR_AUDIO_DECODE'],
  ];
  for (const [name, bytes, code] of cases) {
    await t.rejects(decodeAudio(bytes, opts), { code, param: 'file', kind: code === 'ERR_AUDIO_UNSUPPORTED' ? 'unsupported_media' : 'invalid_input' }, name);
  }
});

t.test('probeDuration reads the WAV header; max duration is enforced before decoding', async (t) => {
  const data = new Uint8Array(16000 * 2 * 3); // 3 s of 16-bit mono
  const wav = buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 16000, data });
  t.equal(probeDuration(wav), 3);
  await t.rejects(decodeAudio(wav, { maxDurationS: 2.5 }), { code: 'ERR_AUDIO_TOO_LONG', kind: 'too_long', param: 'file' });
  t.equal((await decodeAudio(wav, { maxDurationS: 3 })).duration, 3);
});
