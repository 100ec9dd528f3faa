// Per-request fields: a stage declares the form fields it reads (`request:` in its
// descriptor); the handler converts and checks them with the declared schema,
// passes on only declared fields, and names every accepted field when one is
// wrong. The OpenAI transcription route keeps reading its own fields as before
// and still ignores the OpenAI fields it does not act on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { FAKE_WAV, multipartBody, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';
import { frontEndSamples } from './fixtures/stages/front-end-samples.js';

const JFK = fs.readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'audio', 'jfk.wav'));
const GAIN_PLUGIN = path.join(repoRoot(), 'test', 'fixtures', 'stages', 'request-gain.plugin.yaml');

async function post(app: Awaited<ReturnType<typeof buildServer>>, url: string, fields: Record<string, string | string[]>, bytes: Uint8Array = JFK) {
  const { body, contentType } = await multipartBody(fields, [{ filename: 'clip.wav', bytes }]);
  return app.inject({ method: 'POST', url, headers: { 'content-type': contentType }, payload: body });
}

t.test('a plugin\'s request field reaches its stage, converted and checked; undeclared fields do not', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'request-fields-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'gain.yaml');
  fs.writeFileSync(file, YAML.stringify({
    name: 'gain-features',
    routes: ['/v1/audio/features'],
    entry: 'decode',
    stages: {
      decode: { plugin: 'audio/decode', next: 'resample' },
      resample: { plugin: 'audio/resample', next: 'gain' },
      gain: { plugin: GAIN_PLUGIN, next: 'features' },
      features: { plugin: 'audio/whisper-mel', options: { n_mels: 80 } },
    },
  }));
  const pipeline = createPipeline(await loadPipelineConfig(file));
  const app = await buildServer({ pipeline, servedModelNames: ['m'] });
  t.teardown(async () => {
    await app.close();
    await pipeline.close();
  });
  const samples = await frontEndSamples(JFK);
  const mel = async (fields: Record<string, string | string[]>) => {
    const res = await post(app, '/v1/audio/features', fields);
    t.equal(res.statusCode, 200, res.body);
    return res.json().segments[0].mel as number[];
  };

  t.same(await mel({ gain: '0.25', model: 'm', chunking_strategy: 'auto', 'include[]': 'logprobs' }), Array.from(whisperLogMel(samples.map((x) => x * 0.25), 80).mel), 'gain 0.25 applied; OpenAI fields nobody declared are not passed on');
  t.same(await mel({ gain: '2', invert: 'true' }), Array.from(whisperLogMel(samples.map((x) => x * -2), 80).mel), 'a boolean field converted from its text');
  t.same(await mel({}), Array.from(whisperLogMel(samples, 80).mel), 'absent: the stage default');

  for (const [fields, says] of [
    [{ gain: 'loud' }, "gain must be a decimal number above 0 and at most 16 (got 'loud')."],
    [{ gain: '0x2' }, "gain must be a decimal number above 0 and at most 16 (got '0x2')."],
    [{ gain: ' 2' }, "gain must be a decimal number above 0 and at most 16 (got ' 2')."],
    [{ gain: '20' }, "gain must be a decimal number above 0 and at most 16 (got '20')."],
    [{ gain: ['1', '2'] }, "'gain' was sent 2 times; send it once."],
    [{ invert: 'yes' }, "invert must be true or false (got 'yes')."],
    // A long value is not reflected whole: its first 80 characters (with the opening quote) and its length.
    [{ invert: 'y'.repeat(8000) }, `invert must be true or false (got '${'y'.repeat(79)}… (8002 characters)).`],
  ] as [Record<string, string | string[]>, string][]) {
    const res = await post(app, '/v1/audio/features', fields);
    t.equal(res.statusCode, 400, JSON.stringify(fields).slice(0, 60));
    const param = Object.keys(fields)[0];
    t.same(res.json().error, { message: `${says} Fields this route accepts: file, gain, invert, model.`, type: 'invalid_request_error', param, code: 'invalid_value' });
  }
});

t.test('the transcription route passes on what the stages declare, reads OpenAI\'s own fields as before', async (t) => {
  const pipeline = Object.assign(new ScriptedPipeline(), {
    requestFields: {
      language: { type: 'string' },
      temperature: { type: 'number', minimum: 0, maximum: 1 },
      stream: { type: 'boolean' },
      vad_threshold: { type: 'number', minimum: 0, maximum: 1 },
      hotwords: { type: 'array', items: { type: 'string' } },
    },
  });
  const app = await buildServer({ pipeline, servedModelNames: ['m'] });
  t.teardown(() => app.close());
  const openai = { model: 'm', language: 'en', temperature: '0.2', prompt: 'Cars.', seed: '7', response_format: 'verbose_json', 'timestamp_granularities[]': 'segment', chunking_strategy: 'auto' };
  const ok = await post(app, '/v1/audio/transcriptions', { ...openai, vad_threshold: '0.5', 'hotwords[]': ['Nvidia', 'ONNX'] }, FAKE_WAV);
  t.equal(ok.statusCode, 200, ok.body);
  t.strictSame(pipeline.submissions[0].input.params, { temperature: 0.2, stream: false, language: 'en', vad_threshold: 0.5, hotwords: ['Nvidia', 'ONNX'] }, 'declared fields only: prompt, seed, response_format and logprobs are read by no stage here');
  t.match(ok.json(), { task: 'transcribe', segments: Array }, 'response_format still shapes the answer');

  const bad = await post(app, '/v1/audio/transcriptions', { vad_threshold: '2' }, FAKE_WAV);
  t.equal(bad.statusCode, 400);
  t.same(bad.json().error, {
    message: "vad_threshold must be a decimal number from 0 to 1 (got '2'). Fields this route accepts: file, hotwords, include, language, max_new_tokens, model, prompt, response_format, seed, stream, temperature, timestamp_granularities, vad_threshold.",
    type: 'invalid_request_error',
    param: 'vad_threshold',
    code: 'invalid_value',
  });
  const temperature = await post(app, '/v1/audio/transcriptions', { temperature: '1.5' }, FAKE_WAV);
  t.same(temperature.json().error.message, "temperature must be a decimal number from 0 to 1 (got '1.5').", 'OpenAI fields keep the handler\'s own checks and messages');
  // The handler's own fields repeat a long value as the declared ones do: its first 80 characters and its length.
  const cut = `'${'x'.repeat(79)}… (9002 characters)`;
  for (const [field, says] of [
    ['response_format', `response_format must be one of json, text, verbose_json, srt, vtt (got ${cut}).`],
    ['include[]', `include[] takes 'logprobs' only (got ${cut}).`],
    ['timestamp_granularities[]', `timestamp_granularities[] must be 'segment' or 'word' (got ${cut}).`],
  ]) {
    const long = await post(app, '/v1/audio/transcriptions', { [field]: 'x'.repeat(9000) }, FAKE_WAV);
    t.equal(long.statusCode, 400, field);
    t.same(long.json().error.message, says, `${field}: a 9000-character value is not reflected whole`);
  }
});
