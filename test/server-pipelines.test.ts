// Routes come from the pipelines: one server serves what each loaded pipeline
// declares and nothing else. pipelines/features.yaml (decode → resample →
// features, no model) beside pipelines/qwen3-asr.yaml on the tiny checkpoint in
// ONE process; a features-only server 404s the transcription route; two
// pipelines cannot declare one path; `sgl-omni serve` takes several --pipeline
// flags and needs no --model-path for a pipeline without a model stage.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { builtinRoute } from '../src/config/routes.js';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { startServe } from './fixtures/server/cli-process.js';
import { ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';
import { frontEndSamples } from './fixtures/stages/front-end-samples.js';

const FEATURES_YAML = path.join(repoRoot(), 'pipelines', 'features.yaml');
const JFK = fs.readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'audio', 'jfk.wav'));

function upload(fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(JFK)], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

interface FeaturesAnswer {
  object: string;
  model: string;
  duration: number;
  segments: { start: number; end: number; frames: number; mel: number[] }[];
}

t.test('features beside transcription in one process, each on its declared route', async (t) => {
  const features = createPipeline(await loadPipelineConfig(FEATURES_YAML));
  const server = await startTinyServer({ besides: [{ pipeline: features, servedModelNames: ['features'] }] });
  t.teardown(() => server.close());

  const res = await fetch(`${server.base}/v1/audio/features`, { method: 'POST', body: upload() });
  t.equal(res.status, 200);
  const answer = (await res.json()) as FeaturesAnswer;
  const expected = whisperLogMel(await frontEndSamples(JFK), 128);
  t.match(answer, { object: 'audio.features', model: 'features', duration: 11 });
  t.equal(answer.segments.length, 1, '11 s is one 30 s segment');
  t.equal(answer.segments[0].frames, expected.frames);
  t.equal(answer.segments[0].mel.length, expected.mel.length);
  t.same(answer.segments[0].mel, Array.from(expected.mel), 'the log-mel numbers of the front end, through HTTP');

  const asr = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: upload({ model: TINY_MODEL_NAME, response_format: 'verbose_json' }) });
  t.equal(asr.status, 200);
  const transcript = (await asr.json()) as { text: unknown; duration: number; segments: unknown[] };
  t.equal(typeof transcript.text, 'string');
  t.equal(transcript.duration, 11);

  const wrongModel = await fetch(`${server.base}/v1/audio/features`, { method: 'POST', body: upload({ model: TINY_MODEL_NAME }) });
  t.equal(wrongModel.status, 404, 'each route answers to its own pipeline\'s models');
  t.match(await wrongModel.json(), { error: { code: 'model_not_found', param: 'model', message: /Served models: features\./ } });

  const models = (await (await fetch(`${server.base}/v1/models`)).json()) as { data: { id: string }[] };
  t.same(models.data.map((m) => m.id), [TINY_MODEL_NAME, 'features'], '/v1/models lists every pipeline\'s models');

  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  t.match(metrics, /sgl_omni_stage_completed\{stage="features\/features"\} 1\n/, 'stages labelled with their pipeline');
  t.match(metrics, /sgl_omni_stage_completed\{stage="qwen3-asr\/decoder"\} 1\n/);
});

t.test('a features-only server serves no transcription route', async (t) => {
  const features = createPipeline(await loadPipelineConfig(FEATURES_YAML));
  const app = await buildServer({ pipeline: features, servedModelNames: ['features'] });
  t.teardown(async () => {
    await app.close();
    await features.close();
  });
  for (const url of ['/v1/audio/transcriptions', '/v1/audio/translations']) {
    const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: '{}' });
    t.equal(res.statusCode, 404, url);
    t.same(res.json().error, { message: `No route for POST ${url}`, type: 'invalid_request_error', param: null, code: 'not_found' });
  }
});

t.test('a path declared twice, or one the server owns, is refused when the server is built', async (t) => {
  const a = new ScriptedPipeline();
  const b = new ScriptedPipeline();
  await t.rejects(
    buildServer({ pipelines: [{ pipeline: a, servedModelNames: ['a'] }, { pipeline: b, servedModelNames: ['b'] }] }),
    { message: 'route /v1/audio/transcriptions of pipeline scripted is already served by pipeline scripted' },
  );
  const health = Object.assign(new ScriptedPipeline(), { routes: [{ ...builtinRoute('/v1/audio/features'), path: '/health' }] });
  await t.rejects(buildServer({ pipeline: health, servedModelNames: ['m'] }), { message: 'route /health of pipeline scripted is already served by the server itself' });
  const moved = Object.assign(new ScriptedPipeline(), { routes: [{ ...builtinRoute('/v1/audio/transcriptions'), path: '/v2/asr' }] });
  const app = await buildServer({ pipeline: moved, servedModelNames: ['m'] });
  t.teardown(() => app.close());
  const form = upload();
  const res = await app.inject({ method: 'POST', url: '/v2/asr', ...(await formPayload(form)) });
  t.equal(res.statusCode, 200, 'the transcription handler serves the path the pipeline declares');
  t.equal(res.json().text, 'Hello world. Second line here.');
  t.equal((await app.inject({ method: 'POST', url: '/v1/audio/transcriptions', ...(await formPayload(upload())) })).statusCode, 404, 'and not its default path');
  t.equal((await app.inject({ method: 'POST', url: '/v1/audio/translations', ...(await formPayload(upload())) })).statusCode, 404, 'the translations refusal lives beside OpenAI\'s path only');
});

async function formPayload(form: FormData): Promise<{ headers: Record<string, string>; payload: Buffer }> {
  const request = new Request('http://x/', { method: 'POST', body: form });
  return { headers: { 'content-type': request.headers.get('content-type')! }, payload: Buffer.from(await request.arrayBuffer()) };
}

t.test('sgl-omni serve --pipeline pipelines/features.yaml runs with no model', async (t) => {
  const server = await startServe(['--pipeline', FEATURES_YAML], { SGL_OMNI_API_KEY: undefined });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  const res = await fetch(`${server.url}/v1/audio/features`, { method: 'POST', body: upload() });
  t.equal(res.status, 200);
  const answer = (await res.json()) as FeaturesAnswer;
  t.match(answer, { object: 'audio.features', model: 'features', duration: 11 });
  t.equal((await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: upload() })).status, 404);
  t.same(((await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id), ['features']);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('sgl-omni serve: a pipeline with a model stage and no --model-path is one clear line', async (t) => {
  const child = spawnSync(process.execPath, [path.join(repoRoot(), 'bin/sgl-omni.js'), 'serve', '--port', '0', '--pipeline', path.join(repoRoot(), 'pipelines', 'qwen3-asr.yaml')], { encoding: 'utf8', timeout: 60_000 });
  t.equal(child.status, 1);
  t.match(child.stderr, /^sgl-omni: pipeline qwen3-asr \(.*qwen3-asr\.yaml\) loads a model: give --model-path, or --pipeline .*qwen3-asr\.yaml=MODEL\n$/);
  const none = spawnSync(process.execPath, [path.join(repoRoot(), 'bin/sgl-omni.js'), 'serve', '--port', '0'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(none.status, 1);
  t.match(none.stderr, /give --model-path \(the pipeline is chosen from its config\.json\), or --pipeline FILE/);
});
