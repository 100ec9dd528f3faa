// Faults over HTTP with real workers: a stage that throws or a worker that dies
// fails only its own request, with a 500 in the OpenAI shape that shows no path
// or stack; the pool replaces the worker and later requests succeed. A model
// that cannot load (the real Qwen3-ASR pipeline on a broken checkpoint) makes
// /health answer 503 with the reason, and transcriptions a clear 503, not a hang.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { startScriptServer, transcriptionForm } from './fixtures/server/script-server.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-faults-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What a 500 body must never carry: file paths, stack frames, the raw exception text. */
const LEAKS = /\/models\/test|weights|model\.onnx|cannot read|\bat \S+ \(|\.js:\d+/;

const threadOf = async (res: Response) => Number(/on thread (\d+)$/.exec((await res.json()).text)?.[1]);

for (const [fault, code] of [['throw', 'stage_failed'], ['exit', 'stage_crashed']] as const) {
  t.test(`a worker that fails (${fault}) fails only its own request with a clean 500; later requests succeed`, async (t) => {
    const server = await startScriptServer(t, { stage: { workers: 2, options: { hold_ms: 200 } } });
    // Two held requests at once occupy both workers.
    const threadsOfPair = async () => new Set(await Promise.all([server.transcribe(), server.transcribe()].map(async (r) => threadOf(await r))));
    const before = await threadsOfPair();
    t.equal(before.size, 2, 'two workers serve');

    const [bad, good] = await Promise.all([server.transcribe({ prompt: fault }), server.transcribe()]);
    t.equal(bad.status, 500);
    const requestId = bad.headers.get('x-request-id');
    const text = await bad.text();
    t.same(JSON.parse(text), {
      error: { message: `The server had an error while processing your request (request id ${requestId}).`, type: 'server_error', param: null, code },
    });
    t.notMatch(text, LEAKS, 'no path, stack or exception text in the body');
    t.equal(good.status, 200, 'the request on the other worker succeeded');

    // The replacement may still be starting; pairs of requests reach it once it is up.
    let after = new Set<number>();
    for (let round = 0; round < 50 && after.size < 2; round++) after = await threadsOfPair();
    t.equal(after.size, 2, 'two workers serve again');
    if (fault === 'exit') t.ok([...after].some((id) => !before.has(id)), 'one of them is a new worker thread');
    else t.same(after, before, 'a throw costs no worker');
    t.equal((await fetch(`${server.url}/health`)).status, 200);
    t.match(server.pipeline.stats()[0], { failed: 1, queued: 0 });
  });
}

t.test('a model that cannot load: /health is 503 with the reason, transcriptions get a clear 503', async (t) => {
  for (const [label, breakCheckpoint] of [
    ['weights missing', (modelPath: string) => {
      for (const file of fs.readdirSync(modelPath).filter((f) => f.endsWith('.safetensors'))) fs.rmSync(path.join(modelPath, file));
    }],
    ['config.json corrupt', (modelPath: string) => fs.writeFileSync(path.join(modelPath, 'config.json'), '{"thinker_config": ')],
  ] as const) {
    const modelPath = path.join(dir, label.replace(/\W+/g, '-'));
    await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 7 });
    breakCheckpoint(modelPath);
    const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'));
    const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(dir, `cache-${label.replace(/\W+/g, '-')}`) });
    const app = await buildServer({ pipeline, servedModelNames: ['m'] });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
    const transcribe = () => fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: transcriptionForm({}, wav) });

    // Sent while the stages are still loading: it must end with the load error, not wait forever.
    const early = transcribe();
    await t.rejects(pipeline.ready(), { code: 'ERR_STAGE_UNAVAILABLE' }, `${label}: the pipeline does not load`);
    const health = await fetch(`${url}/health`);
    t.equal(health.status, 503, `${label}: /health is 503`);
    const body = await health.json();
    t.match(body, { status: 'unavailable', reason: /stage (encoder|decoder) failed to load: ./ }, `${label}: with the reason`);
    t.notMatch(body.reason, dir, 'the reason names no server path');
    for (const res of [await early, await transcribe()]) {
      t.equal(res.status, 503);
      t.match(await res.json(), { error: { type: 'server_error', code: 'stage_unavailable', message: /^stage (encoder|decoder) failed to load: / } });
    }
    await app.close();
    await pipeline.close();
  }
});
