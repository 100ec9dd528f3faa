// The three audio plugins as the runtime runs them: by registry name, in piscina
// worker threads, payloads transferred between stages, errors in the OpenAI fields.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Payload } from '../src/runtime/contracts.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { resampleTo16kMono } from '../stages/audio/resample.js';
import { loadTestPipeline, startTestPipeline } from './fixtures/stages/pipeline-helper.js';

const fixture = (name: string) => fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name));
const arrayBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

const frontEnd = {
  decode: { plugin: 'audio/decode', next: 'resample', options: { max_duration_s: 30 } },
  resample: { plugin: 'audio/resample', next: 'features' },
  features: { plugin: 'audio/whisper-mel' },
};

const pipeline = await startTestPipeline(t, frontEnd);

t.test('MP3 upload → segments of mel features, equal to the in-process functions', async (t) => {
  const mp3 = fixture('jfk-44k-stereo.mp3');
  const out = await pipeline.submit({ audio: arrayBuffer(mp3), filename: 'jfk.mp3', contentType: 'audio/mpeg', params: { temperature: 0 } });
  const decoded = await decodeAudio(mp3, { maxDurationS: 30 });
  const expected = whisperLogMel(resampleTo16kMono(decoded.channels, decoded.sampleRate));
  const [segment] = out.segments as { start: number; end: number; mel: Float32Array; frames: number }[];
  t.equal(out.duration, 11);
  t.equal(out.filename, 'jfk.mp3');
  t.same(out.params, { temperature: 0 });
  t.same([out.audio, out.channels, out.samples], [undefined, undefined, undefined], 'intermediate arrays are consumed');
  t.match(segment, { start: 0, end: 11, frames: 1100 });
  t.same(segment.mel, expected.mel, 'bit-identical to the in-process result');
});

t.test('bad uploads reject with the stage error fields', async (t) => {
  const cases: [Payload, { code: string; kind: string; param: string }][] = [
    [{ audio: new ArrayBuffer(0) }, { code: 'ERR_AUDIO_EMPTY', kind: 'invalid_input', param: 'file' }],
    [{ audio: arrayBuffer(new Uint8Array(2048).fill(1)) }, { code: 'ERR_AUDIO_UNSUPPORTED', kind: 'unsupported_media', param: 'file' }],
    [{ audio: arrayBuffer(fixture('clip.flac').subarray(0, 100)) }, { code: 'ERR_AUDIO_DECODE', kind: 'invalid_input', param: 'file' }],
  ];
  for (const [payload, error] of cases) await t.rejects(pipeline.submit(payload), error);
});

t.test('plugin options are checked against their schemas at load', async (t) => {
  await t.rejects(loadTestPipeline({ name: 'bad', routes: [], entry: 'decode', stages: { decode: { plugin: 'audio/decode', options: { max_duration_s: -1 } } } }));
  await t.rejects(loadTestPipeline({ name: 'bad', routes: [], entry: 'f', stages: { f: { plugin: 'audio/whisper-mel', options: { hop: 10 } } } }));
});
