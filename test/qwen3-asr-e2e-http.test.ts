// POST /v1/audio/transcriptions end to end on the tiny checkpoint: the HTTP
// server in front of pipelines/qwen3-asr.yaml, as `sgl-omni serve` runs it.
// The transcript is the one the pipeline gives for the same bytes; streaming
// sends it as deltas; admission answers 503 with Retry-After past its limits;
// a client that goes away frees the only decoder slot.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-asr-http-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelPath = path.join(dir, 'tiny');
await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 3 });
const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));

// One decoder slot and no waiting room, so overload and slot release are observable.
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
  overrides: [
    ['admission.max_running', '1'],
    ['admission.max_waiting', '0'],
    ['admission.retry_after_s', '2'],
    ['stages.encoder.threads', '1'],
    ['stages.decoder.threads', '1'],
    ['stages.encoder.options.precision', 'fp32'],
    ['stages.decoder.options.precision', 'fp32'],
    ['stages.decoder.options.max_running', '1'],
    ['stages.decoder.options.max_context', '1024'],
    ['stages.decoder.options.loop_max_period', '0'], // the tiny model's '\n' loop keeps the slot busy long enough to observe
  ],
});
const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(dir, 'cache') });
const app = await buildServer({ pipeline, servedModelNames: ['qwen3-asr-tiny'] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(async () => {
  await app.close();
  await pipeline.close();
});
await pipeline.ready();

function form(fields: Record<string, string>): FormData {
  const body = new FormData();
  body.append('file', new Blob([wav], { type: 'audio/wav' }), 'jfk.wav');
  body.append('model', 'qwen3-asr-tiny');
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  return body;
}

const post = (fields: Record<string, string>, signal?: AbortSignal) => fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', body: form(fields), signal });

/** The transcript straight from the pipeline, for the same upload. */
async function pipelineText(params: Record<string, unknown> = {}): Promise<{ text: string; segments: { tokens: number[] }[] }> {
  const audio = wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength);
  return (await pipeline.submit({ audio, filename: 'jfk.wav', contentType: 'audio/wav', params: { temperature: 0, stream: false, response_format: 'json', ...params } })) as never;
}

t.test('json and verbose_json carry the pipeline’s transcript', async (t) => {
  const expected = await pipelineText();
  const json = await post({});
  t.equal(json.status, 200);
  t.same(await json.json(), { text: expected.text, usage: { type: 'duration', seconds: 11 } });

  const verbose = await post({ response_format: 'verbose_json' });
  t.equal(verbose.status, 200);
  const body = await verbose.json();
  t.match(body, { task: 'transcribe', duration: 11, text: expected.text });
  t.match(body.segments, [{ id: 0, start: 0, end: 11, text: expected.text }]);
});

t.test('stream=true: deltas, then the done event with the pipeline’s text', async (t) => {
  const expected = await pipelineText();
  const res = await post({ stream: 'true' });
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /text\/event-stream/);
  const frames = (await res.text()).split('\n\n').filter((f) => f.startsWith('data: ')).map((f) => f.slice(6));
  t.equal(frames.at(-1), '[DONE]');
  const events = frames.slice(0, -1).map((f) => JSON.parse(f));
  const deltas = events.filter((e) => e.type === 'transcript.text.delta');
  t.ok(deltas.length >= 1, `${deltas.length} delta events`);
  t.equal(deltas.map((e) => e.delta).join(''), expected.text, 'the deltas joined are the text (a loop\'s trimmed copies never streamed)');
  t.match(events.at(-1), { type: 'transcript.text.done', text: expected.text });
});

t.test('a bad language is a 400 in the OpenAI error shape', async (t) => {
  const res = await post({ language: 'klingon' });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { param: 'language', code: 'invalid_language', type: 'invalid_request_error' } });
});

t.test('past max_running + max_waiting the route answers 503 with Retry-After', async (t) => {
  // A streaming request that has sent its first event holds the only running place.
  const abort = new AbortController();
  const holder = await post({ stream: 'true', max_new_tokens: '800' }, abort.signal);
  t.equal(holder.status, 200);
  const reader = holder.body!.getReader();
  await reader.read();
  const refused = await post({});
  t.equal(refused.status, 503);
  t.equal(refused.headers.get('retry-after'), '2');
  t.match(await refused.json(), { error: { message: String, type: String } });
  abort.abort();
  await reader.read().catch(() => {});
});

t.test('a client that disconnects frees the decoder slot', async (t) => {
  const abort = new AbortController();
  const res = await post({ stream: 'true', max_new_tokens: '800' }, abort.signal);
  const reader = res.body!.getReader();
  await reader.read(); // the stream has started: the request holds the slot
  abort.abort();
  await reader.read().catch(() => {});
  // With one running place and no waiting room, this is admitted once the aborted request let go,
  // and decodes once the decoder dropped the aborted sequence from the only KV slot.
  let status = 0;
  for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
    status = (await post({ max_new_tokens: '4' })).status;
    if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(status, 200);
});
