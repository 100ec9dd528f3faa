// The aligner checkpoint given as a Hugging Face id (issue 14): the stage's
// options.model_path goes through src/hub's resolver, as --model-path does, so
// an id is found in the standard HF cache (here a fake one: HF_HUB_CACHE, with
// HF_HUB_OFFLINE=1 so nothing can reach a network) under the official ids of
// both layouts, Qwen/Qwen3-ForcedAligner-0.6B (original) and -0.6B-hf. Each
// layout from its folder and from the cache gives the official word times of a
// golden case. Then `sgl-omni serve --aligner-path ID` on the real CLI: the
// plugin's serve flag switches pipelines/qwen3-asr.yaml to the aligned variant
// and word granularity answers 200 with words; without the flag the same
// request is the 400 that says how to start an aligner; on a pipeline with no
// align stage the flag is refused before anything loads. The aligner needs the
// served model only when options.model_path is empty (its descriptor's
// needs_model condition): the alignment route then serves with no --model-path.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { ItemContext, StageEnv } from '../src/runtime/contracts.js';
import { loadPipelineConfig } from '../src/config/load.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import plugin from '../stages/qwen3-forced-aligner/align-stage.js';
import { AlignerGoldenSet } from '../stages/qwen3-forced-aligner/reference/golden.js';
import { startServe } from './fixtures/server/cli-process.js';

const ORIGINAL = 'Qwen/Qwen3-ForcedAligner-0.6B';
const HF = 'Qwen/Qwen3-ForcedAligner-0.6B-hf';
const SHA: Record<string, string> = { [ORIGINAL]: 'c'.repeat(40), [HF]: 'd'.repeat(40) };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aligner-hub-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const hubCache = path.join(dir, 'hub');
const cacheDir = path.join(dir, 'graphs');
const set = new AlignerGoldenSet(path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner/tiny-b'));
const folders: Record<string, string> = { [ORIGINAL]: path.join(dir, 'original'), [HF]: set.checkpoint };
await set.regenerateOriginal(folders[ORIGINAL]);

/** A snapshot as huggingface_hub leaves it: refs/main → sha, snapshots/<sha>/ with the files. */
for (const [id, folder] of Object.entries(folders)) {
  const repo = path.join(hubCache, `models--${id.replace('/', '--')}`);
  fs.cpSync(folder, path.join(repo, 'snapshots', SHA[id]), { recursive: true });
  fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'refs', 'main'), SHA[id]);
}
const hubEnv = { HF_HUB_CACHE: hubCache, HF_HUB_OFFLINE: '1' };
Object.assign(process.env, hubEnv); // the stage resolves in this process here (a worker inherits it in a server)

const golden = set.manifest.cases.speech_fr;
const samples = (await decodeAudio(new Uint8Array(fs.readFileSync(path.resolve(set.dir, golden.wav))), { maxDurationS: 60 })).channels[0];
const seconds = samples.length / 16000;
// The stage clamps official times to the audio (random weights predict some past its end).
const expected = golden.times.map((w) => ({ word: w.word, start: Math.min(w.start, seconds), end: Math.min(w.end, seconds) }));
const ctx: ItemContext = { id: 'r', emit: () => {}, cancelled: false, onCancel: () => {} };
const logs: string[] = [];

function stageEnv(modelPath: string): StageEnv {
  return {
    stageName: 'align', device: 'cpu', threads: 1, modelPath: '', cacheDir, workerIndex: 0,
    options: { precision: 'fp32', mode: 'always', model_path: modelPath },
    log: (_level, msg) => logs.push(msg),
  };
}

for (const id of [ORIGINAL, HF]) {
  for (const [how, value] of [['folder', folders[id]], ['Hub id', id]] as const) {
    t.test(`${id.slice(5)} from its ${how}: the official word times`, async (t) => {
      const instance = await plugin.create(stageEnv(value));
      t.teardown(() => instance.dispose?.());
      const [r] = await instance.process([{ payload: { alignment_audio: samples, text: golden.text, params: { language: golden.language } }, ctx }]);
      t.ok(r.ok, r.ok ? 'aligned' : r.error.message);
      if (r.ok) t.same(r.payload.words, expected);
    });
  }
}

t.test('the cache is what the id resolved to, and the log says so', async (t) => {
  t.ok(logs.some((m) => m === 'using the Hugging Face cache'), 'the resolver logged the cache hit through the stage log');
});

t.test('an id in no cache, offline: the stage fails to load, naming the option and where it looked', async (t) => {
  await t.rejects(async () => plugin.create(stageEnv('Qwen/Qwen3-ForcedAligner-1.7B')), {
    code: 'ERR_MODEL_NOT_FOUND',
    message: /Qwen\/Qwen3-ForcedAligner-1\.7B is not a local folder and not downloaded \(nothing in .*models--Qwen--Qwen3-ForcedAligner-1\.7B\).*HF_HUB_OFFLINE/,
  });
  await t.rejects(async () => plugin.create(stageEnv('./no/such/aligner')), { message: /^stages\.align\.options\.model_path \.\/no\/such\/aligner: no such folder/ });
});

t.test('serve --aligner-path ID: the aligned pipeline, words on the transcription route; without it a 400', async (t) => {
  const asr = path.join(dir, 'asr');
  await makeCheckpoint({ size: 'tiny', out: asr, seed: 3 });
  const common = ['--model-path', asr, '--cache-dir', cacheDir, '--stages.encoder.threads', '1', '--stages.decoder.threads', '1', '--stages.encoder.options.precision', 'fp32', '--stages.decoder.options.precision', 'fp32', '--stages.features.options.max_segment_s', '5', '--stages.features.options.search_s', '1'];
  const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
  const post = (url: string) => {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'jfk.wav');
    for (const [k, v] of [['response_format', 'verbose_json'], ['timestamp_granularities[]', 'word'], ['max_new_tokens', '24']]) form.append(k, v);
    return fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  };
  const start = async (args: string[]) => {
    const server = await startServe([...common, ...args], hubEnv);
    t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL'); });
    await server.waitForLog((l) => l.msg === 'pipeline loaded; serving', 120_000);
    return server;
  };

  const aligned = await start(['--aligner-path', HF, '--stages.align.threads', '1', '--stages.align.options.precision', 'fp32']);
  t.match(aligned.logs.find((l) => l.msg === 'starting pipeline'), { pipeline: 'qwen3-asr-aligned' }, 'the flag switched to the aligned pipeline');
  const res = await post(aligned.url);
  t.equal(res.status, 200);
  const body = (await res.json()) as { text: string; duration: number; words?: { word: string; start: number; end: number }[] };
  const words = body.words ?? [];
  t.ok(words.length > 0, `${words.length} words for ${JSON.stringify(body.text)}`);
  t.ok(words.every((w, i) => w.start <= w.end && (i === 0 || w.start >= words[i - 1].end) && w.end <= body.duration), 'monotonic, inside the audio');
  aligned.child.kill('SIGTERM');
  await aligned.exited;

  const plain = await start([]);
  t.match(plain.logs.find((l) => l.msg === 'starting pipeline'), { pipeline: 'qwen3-asr' });
  const refused = await post(plain.url);
  t.equal(refused.status, 400);
  t.match(await refused.json(), { error: { param: 'timestamp_granularities', message: /no forced aligner \(start it with --aligner-path/ } });
  plain.child.kill('SIGTERM');
  await plain.exited;
});

t.test('--aligner-path on pipelines with no align stage: refused before loading, saying where it applies', async (t) => {
  const run = promisify(execFile);
  const err = await run(process.execPath, [path.join(repoRoot(), 'bin/sgl-omni.js'), 'serve', '--port', '0', '--pipeline', path.join(repoRoot(), 'pipelines/features.yaml'), '--aligner-path', HF], { env: { ...process.env, ...hubEnv } }).then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  t.equal(err?.code, 1);
  t.match(err?.stderr, /--aligner-path sets stages\.align\.options\.model_path, but no served pipeline has a stage 'align' \(pipelines\/features\.yaml\); it applies to pipelines\/qwen3-asr\.yaml → pipelines\/qwen3-asr-aligned\.yaml/);
});

t.test('needs_model: the aligner needs the served model only without a checkpoint of its own', async (t) => {
  const file = path.join(repoRoot(), 'pipelines/qwen3-forced-aligner.yaml');
  const modelStages = async (overrides: [string, string][]) => (await loadPipelineConfig(file, { overrides })).stages.filter((s) => s.needsModel).map((s) => s.name);
  t.same(await modelStages([]), ['align'], 'model_path not set: the served model is the aligner');
  t.same(await modelStages([['stages.align.options.model_path', HF]]), [], 'its own checkpoint: no served model needed');
  const aligned = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr-aligned.yaml'), { overrides: [['stages.align.options.model_path', HF]] });
  t.same(aligned.stages.filter((s) => s.needsModel).map((s) => s.name), ['encoder', 'decoder'], 'beside ASR, --model-path is the ASR model');

  const server = await startServe(['--pipeline', file, '--stages.align.options.model_path', HF, '--stages.align.threads', '1', '--stages.align.options.precision', 'fp32', '--cache-dir', cacheDir], hubEnv);
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL'); });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving', 120_000);
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(fs.readFileSync(path.resolve(set.dir, golden.wav)))], { type: 'audio/wav' }), 'speech.wav');
  form.append('text', golden.text);
  form.append('language', golden.language);
  const res = await fetch(`${server.url}/v1/audio/alignments`, { method: 'POST', body: form });
  t.equal(res.status, 200, 'served with no --model-path');
  t.same(((await res.json()) as { words: { word: string }[] }).words.map((w) => w.word), golden.words);
  server.child.kill('SIGTERM');
  await server.exited;
});
