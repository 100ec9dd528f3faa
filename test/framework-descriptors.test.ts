// The light descriptors against what they describe: each built-in plugin's
// descriptor has its module's name and is the only declaration of its options
// (the stage gets them with the defaults filled in), each handler's its
// module's name; docs/PAYLOADS.md is what the descriptors generate; and the
// features handler answers what its descriptor promises, through a real pipeline.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import t from 'tap';
import { builtinCatalogue } from '../src/config/discovery.js';
import { payloadDocsPath, renderPayloadReference } from '../src/config/payload-docs.js';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import errorHandling from '../src/server/error-handling.js';
import type { RouteHandler } from '../src/server/handlers/types.js';
import { ServerMetrics } from '../src/server/metrics.js';
import { ModelCatalog } from '../src/server/model-catalog.js';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { frontEndSamples } from './fixtures/stages/front-end-samples.js';
import { multipartBody } from './fixtures/server/scripted-pipeline.js';
import { startTestPipeline } from './fixtures/stages/pipeline-helper.js';

const importDefault = async <T>(file: string) => ((await import(pathToFileURL(file).href)) as { default: T }).default;

t.test('built-in plugins: descriptor name equals the module\'s; the options are declared only in the descriptor', async (t) => {
  const { plugins } = builtinCatalogue();
  t.same([...plugins.keys()].sort(), ['audio/decode', 'audio/resample', 'audio/whisper-mel', 'qwen3-asr/decoder', 'qwen3-asr/encoder', 'qwen3-forced-aligner/aligner', 'qwen3-forced-aligner/keep-audio', 'silero-vad/vad']);
  for (const descriptor of plugins.values()) {
    const plugin = await importDefault<{ name: string; optionsSchema?: object }>(descriptor.module);
    t.equal(plugin.name, descriptor.name, `${descriptor.file} names its module's plugin`);
    t.equal(plugin.optionsSchema, undefined, `${descriptor.name}: no second options schema in the module`);
  }
});

t.test('a described stage receives its options with the descriptor\'s defaults filled in', async (t) => {
  const plugin = path.join(repoRoot(), 'test', 'fixtures', 'stages', 'options-echo.plugin.yaml');
  const run = async (options: object) => {
    const pipeline = await startTestPipeline(t, { echo: { plugin, options } });
    return (await pipeline.submit({})).options;
  };
  t.same(await run({}), { label: 'plain', limit: 2.5, nested: { on: true } });
  t.same(await run({ limit: 7 }), { label: 'plain', limit: 7, nested: { on: true } }, 'a written option replaces its default only');
});

t.test('built-in handlers: descriptor name equals the module\'s', async (t) => {
  const { handlers } = builtinCatalogue();
  t.same([...handlers.keys()].sort(), ['alignment', 'features', 'openai-realtime', 'openai-transcription']);
  for (const descriptor of handlers.values()) t.equal((await importDefault<RouteHandler>(descriptor.module)).name, descriptor.name);
});

t.test('docs/PAYLOADS.md is generated from the descriptors', async (t) => {
  t.equal(fs.readFileSync(payloadDocsPath(), 'utf8'), renderPayloadReference(), 'regenerate: node dist/src/config/payload-docs.js --write');
});

t.test('the models and CLI extensions come from the model folder', async (t) => {
  const { models, cli } = builtinCatalogue();
  t.same(models.get('Qwen3ASRForConditionalGeneration'), { pipeline: path.join(repoRoot(), 'pipelines', 'qwen3-asr.yaml'), source: path.join(repoRoot(), 'stages', 'qwen3-asr', 'sgl-omni.yaml') });
  t.same(cli, ['qwen3-asr', 'qwen3-forced-aligner'].map((folder) => path.join(repoRoot(), 'dist', 'stages', folder, 'cli.js')));
});

t.test('features handler: pipelines/features.yaml answers the segments the front end computes', async (t) => {
  const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines', 'features.yaml'));
  const pipeline = createPipeline(resolved, { modelPath: '/models/none', cacheDir: '/tmp/cache' });
  t.teardown(() => pipeline.close());
  await pipeline.ready();
  const [route] = resolved.routes;
  const app = Fastify();
  t.teardown(() => app.close());
  await app.register(errorHandling);
  await app.register(multipart);
  const handler = await importDefault<RouteHandler>(route.module);
  await handler.mount(app, { path: route.path, pipeline, catalog: new ModelCatalog(['m']), metrics: new ServerMetrics([pipeline]), limits: { maxFileBytes: 1 << 24, maxFieldBytes: 1024, maxFields: 8 } });

  const post = async (fields: Record<string, string>, bytes: Uint8Array) => {
    const { body, contentType } = await multipartBody(fields, [{ filename: 'upload.wav', bytes }]);
    return app.inject({ method: 'POST', url: '/v1/audio/features', headers: { 'content-type': contentType }, payload: body });
  };
  const wav = fs.readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'audio', 'jfk.wav'));
  const res = await post({ model: 'm' }, wav);
  t.equal(res.statusCode, 200, res.body);
  const answer = res.json() as { object: string; model: string; duration: number; segments: { start: number; end: number; frames: number; mel: number[] }[] };
  const expected = whisperLogMel(await frontEndSamples(wav), 128);
  t.match(answer, { object: 'audio.features', model: 'm', duration: 11 });
  t.equal(answer.segments.length, 1, '11 s is one 30 s segment');
  t.match(answer.segments[0], { start: 0, end: 11, frames: expected.frames });
  t.same(answer.segments[0].mel, Array.from(expected.mel), 'the mel features as numbers, equal to the in-process result');

  const unknownModel = await post({ model: 'x' }, wav);
  t.equal(unknownModel.statusCode, 404, unknownModel.body);
  t.match(unknownModel.json(), { error: { param: 'model', code: 'model_not_found' } });
  const notAudio = await post({}, new TextEncoder().encode('not audio at all'));
  t.equal(notAudio.statusCode, 415, 'a stage error keeps its status through the handler');
  t.match(notAudio.json(), { error: { type: 'invalid_request_error', param: 'file', code: 'audio_unsupported' } });
});
