// Payload contracts, cross-field rules and routes as `config check` enforces them
// from the light descriptors: miswired graphs, inconsistent configs and routes
// whose handler the pipeline cannot feed are refused with file:line:col, naming
// the stages and fields; and checking a config never imports a stage module.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadPipelineConfig } from '../src/config/index.js';
import { repoRoot } from '../src/util/paths.js';

const pipelines = path.join(repoRoot(), 'pipelines');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-contracts-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function problems(file: string, overrides?: [string, string][]): Promise<string> {
  try {
    await loadPipelineConfig(file, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

t.test('the shipped pipelines pass, each route with its handler', async (t) => {
  const asr = await loadPipelineConfig(path.join(pipelines, 'qwen3-asr.yaml'));
  t.same(asr.routes.map((r) => [r.path, r.handler]), [['/v1/audio/transcriptions', 'openai-transcription'], ['/v1/realtime', 'openai-realtime']]);
  t.same(asr.config.routes, ['/v1/audio/transcriptions', '/v1/realtime'], 'the runtime still sees the paths');
  t.same(Object.keys(asr.request), ['chunking_strategy', 'language', 'prompt', 'temperature', 'max_new_tokens', 'seed', 'stream', 'logprobs', 'include', 'repetition_penalty', 'answer_prefix', 'answer_prefix_unfixed_tokens'], 'request fields the stages accept, in graph order');
  const features = await loadPipelineConfig(path.join(pipelines, 'features.yaml'));
  t.same(features.routes.map((r) => [r.path, r.handler]), [['/v1/audio/features', 'features']]);
  t.same(features.request, {});
});

t.test('decode → qwen3-asr/decoder is refused, naming both stages and the missing fields', async (t) => {
  const file = write('miswired.yaml', [
    'name: miswired',
    'routes: [/v1/audio/transcriptions]',
    'entry: decode',
    'stages:',
    '  decode: { plugin: audio/decode, next: decoder }',
    '  decoder: { plugin: qwen3-asr/decoder, concurrency: 32 }',
    '',
  ].join('\n'));
  const message = await problems(file);
  t.match(message, `${file}:6:3: stages.decoder: stage 'decoder' (qwen3-asr/decoder) needs segments[].audio (Float32Array), segments[].tokens (integer), segments[].start (number), segments[].end (number), which nothing before it produces; after stage 'decode' (audio/decode) the payload has filename (string), contentType (string), params (object), channels (Float32Array[]), sampleRate (integer), duration (number)`);
  t.notMatch(message, 'route /v1/audio/transcriptions', 'the route is fed once the decoder runs: its text is not reported missing');
});

t.test('a stage skipped in the middle, or a consumed field removed upstream, is refused', async (t) => {
  const skipped = write('skipped.yaml', 'name: s\nroutes: [/v1/audio/features]\nentry: decode\nstages:\n  decode: { plugin: audio/decode, next: mel }\n  mel: { plugin: audio/whisper-mel }\n');
  t.match(await problems(skipped), `${skipped}:6:3: stages.mel: stage 'mel' (audio/whisper-mel) needs samples (Float32Array), which nothing before it produces; after stage 'decode' (audio/decode)`);
  const twice = write('twice.yaml', 'name: s\nroutes: [/v1/audio/features]\nentry: a\nstages:\n  a: { plugin: audio/decode, next: b }\n  b: { plugin: audio/decode }\n');
  t.match(await problems(twice), "stages.b: stage 'b' (audio/decode) needs audio (bytes), which nothing before it produces");
});

t.test('a field of the wrong type names the stage that produced it', async (t) => {
  fs.writeFileSync(path.join(dir, 'text-maker.plugin.yaml'), [
    'name: test/text-maker',
    `module: ${JSON.stringify(path.join(repoRoot(), 'dist', 'test', 'fixtures', 'stages', 'echo-stage.js'))}`,
    'consumes: {}',
    'produces:',
    '  text: { type: Float32Array }',
    '  duration: { type: number }',
    '',
  ].join('\n'));
  const file = write('wrong-type.yaml', 'name: w\nroutes: [/v1/audio/transcriptions]\nentry: a\nstages:\n  a: { plugin: ./text-maker.plugin.yaml }\n');
  t.match(await problems(file), `${file}:2:10: routes.0: route /v1/audio/transcriptions (handler openai-transcription) needs text as string, but stage 'a' (./text-maker.plugin.yaml) produces it as Float32Array`);
});

t.test('a route whose handler needs what the last stage does not produce is refused', async (t) => {
  const file = write('features-as-asr.yaml', 'name: f\nroutes: [/v1/audio/transcriptions]\nentry: decode\nstages:\n  decode: { plugin: audio/decode, next: resample }\n  resample: { plugin: audio/resample, next: mel }\n  mel: { plugin: audio/whisper-mel }\n');
  t.match(await problems(file), `${file}:2:10: routes.0: route /v1/audio/transcriptions (handler openai-transcription) needs text (string), which nothing before it produces; after stage 'mel' (audio/whisper-mel) the payload has`);
});

t.test('routes: unknown handler, a path no handler serves by default, a path twice', async (t) => {
  const file = write('routes.yaml', [
    'name: r',
    'routes:',
    '  - { path: /v1/audio/features, handler: nope }',
    '  - /v1/audio/embeddings',
    '  - { path: /v1/audio/embeddings, handler: features }',
    'entry: decode',
    'stages:',
    '  decode: { plugin: audio/decode }',
    '',
  ].join('\n'));
  const message = await problems(file);
  t.match(message, `${file}:3:33: routes.0.handler: unknown handler 'nope'. Looked for:\n  a built-in handler (*.handler.yaml in `);
  t.match(message, /: [a-z, -]*features, [a-z, -]*openai-transcription\n  a package named 'nope' in: /, 'the built-in handlers, then the node_modules folders');
  t.match(message, new RegExp(`${file}:4:5: routes.1: no handler serves /v1/audio/embeddings by default \\(defaults: .*/v1/audio/features → features, .*/v1/audio/transcriptions → openai-transcription\\)`));
  t.match(message, `${file}:5:5: routes.2: /v1/audio/embeddings is listed twice`);
  const bad = write('bad-route.yaml', 'name: r\nroutes: [{ path: /v1/x }, 5]\nentry: a\nstages:\n  a: { plugin: audio/decode }\n');
  const schema = await problems(bad);
  t.match(schema, 'routes.0.handler: required field is missing');
  t.match(schema, 'routes.1: must be string,object (got 5)');
});

t.test('cross-field rules: fp16 on cpu, decoder concurrency below admission or KV slots', async (t) => {
  const file = path.join(pipelines, 'qwen3-asr.yaml');
  const fp16 = await problems(file, [['stages.encoder.options.precision', 'fp16']]);
  t.match(fp16, /qwen3-asr\.yaml:\d+:\d+: stages\.encoder\.device: qwen3-asr\/encoder requires device ~ \/\^cuda:\[0-9\]\+\$\/ when options\.precision == 'fp16' \(device is "cpu"\): onnxruntime's CPU provider has no fp16 kernels/);
  await t.resolves(loadPipelineConfig(file, { overrides: [['stages.encoder.options.precision', 'fp16'], ['stages.encoder.device', 'cuda:0']] }), 'fp16 on a GPU is fine');
  const admission = await problems(file, [['admission.max_running', '64']]);
  t.match(admission, 'stages.decoder.concurrency: qwen3-asr/decoder requires concurrency >= pipeline.admission.max_running (concurrency is 32, pipeline.admission.max_running is 64)');
  const slots = await problems(file, [['stages.decoder.concurrency', '8'], ['admission.max_running', '8']]);
  t.match(slots, 'stages.decoder.concurrency: qwen3-asr/decoder requires concurrency >= options.max_running (concurrency is 8, options.max_running is 16)');
  t.match(slots, '(from override --stages.decoder.concurrency 8)');
  await t.resolves(loadPipelineConfig(file, { overrides: [['admission.max_running', '1']] }), 'fewer admitted requests than decoder concurrency is fine');
});

t.test('checking a config imports no stage module (onnxruntime stays out of the HTTP process)', async (t) => {
  const script = [
    "import { createRequire } from 'node:module';",
    `const { loadPipelineConfig } = await import(${JSON.stringify(path.join(repoRoot(), 'dist', 'src', 'config', 'index.js'))});`,
    `await loadPipelineConfig(${JSON.stringify(path.join(pipelines, 'qwen3-asr.yaml'))});`,
    'const cache = Object.keys(createRequire(import.meta.url).cache);',
    "console.log(JSON.stringify(cache.filter((f) => f.includes('onnxruntime'))));",
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), [], 'no onnxruntime module was loaded');
});
