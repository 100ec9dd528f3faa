// The official `openai` npm client against a listening server: every
// response format, streaming, chunking_strategy and include: ['logprobs'] as the
// SDK encodes them, errors as the SDK's typed exceptions, auth, and aborting a
// request from the client side.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { parse } from 'yaml';
import t, { type Test } from 'tap';
import { PipelineError } from '../src/runtime/contracts.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { answer, CANNED_DELTAS, CANNED_RESULT, FAKE_WAV, fail, ScriptedPipeline, waitForAbort } from './fixtures/server/scripted-pipeline.js';

const MODEL = 'Qwen/Qwen3-ASR-1.7B';
const API_KEY = 'sk-local-test';

async function serve(t: Test, pipeline: ScriptedPipeline) {
  const app = await buildServer({ pipeline, servedModelNames: [MODEL, 'qwen3-asr'], apiKey: API_KEY });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as net.AddressInfo;
  return new OpenAI({ apiKey: API_KEY, baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
}

const audio = () => toFile(Buffer.from(FAKE_WAV), 'query_to_cars.wav', { type: 'audio/wav' });

t.test('every response format', async (t) => {
  const pipeline = new ScriptedPipeline();
  const client = await serve(t, pipeline);

  const json = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, language: 'en', prompt: 'cars', temperature: 0.2 });
  t.same(json, { text: CANNED_RESULT.text, usage: { type: 'duration', seconds: 4 } });
  t.strictSame(pipeline.submissions[0].input.params, { temperature: 0.2, stream: false, response_format: 'json', logprobs: false, language: 'en', prompt: 'cars' });
  t.equal(pipeline.submissions[0].input.filename, 'query_to_cars.wav');

  const text = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, response_format: 'text' });
  t.equal(text, 'Hello world. Second line here.');

  const verbose = await client.audio.transcriptions.create({ file: await audio(), model: 'qwen3-asr', response_format: 'verbose_json', timestamp_granularities: ['segment'] });
  t.equal(verbose.language, 'english');
  t.equal(verbose.duration, 3.2);
  t.equal(verbose.segments?.length, 2);
  t.same(verbose.segments?.[1], { id: 1, seek: 150, start: 1.5, end: 3.2, text: ' Second line here.', tokens: [10440, 1555, 1588, 13], temperature: 0, avg_logprob: -0.5, compression_ratio: 1.2, no_speech_prob: 0.02 });

  const srt = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, response_format: 'srt' });
  t.equal(srt, '1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n2\n00:00:01,500 --> 00:00:03,200\nSecond line here.\n\n');
  const vtt = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, response_format: 'vtt' });
  t.equal(vtt, 'WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n00:00:01.500 --> 00:00:03.200\nSecond line here.\n\n');

  // Our extension travels as an extra form field.
  const extension = { max_new_tokens: 32 };
  await client.audio.transcriptions.create({ file: await audio(), model: MODEL, ...extension });
  t.equal((pipeline.submissions.at(-1)!.input.params as { max_new_tokens: number }).max_new_tokens, 32);
});

t.test('stream: true yields delta events then done', async (t) => {
  const client = await serve(t, new ScriptedPipeline(answer(CANNED_RESULT, CANNED_DELTAS)));
  const stream = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, stream: true });
  const events = [];
  for await (const event of stream) events.push(event);
  t.same(events, [
    ...CANNED_DELTAS.map((delta) => ({ type: 'transcript.text.delta', delta })),
    { type: 'transcript.text.done', text: CANNED_RESULT.text, usage: { type: 'duration', seconds: 4 } },
  ]);
});

/** The request fields the default pipeline's stages declare (VAD and decoder descriptors), as config load merges them. */
function declaredFields(): Record<string, object> {
  const request = (file: string) => (parse(fs.readFileSync(path.join(repoRoot(), file), 'utf8')) as { request: Record<string, object> }).request;
  return { ...request('stages/silero-vad/vad.plugin.yaml'), ...request('stages/qwen3-asr/decoder.plugin.yaml') };
}

t.test('chunking_strategy and include: [logprobs] as the SDK sends them; json and stream read back typed', async (t) => {
  const lp = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token)] });
  const tokens = [[lp('Hello', -0.01), lp(' world.', -0.2)], [lp(' Second line here.', -0.7)]];
  const result = { ...CANNED_RESULT, segments: (CANNED_RESULT.segments as object[]).map((s, i) => ({ ...s, logprobs: tokens[i] })) };
  const pipeline = Object.assign(new ScriptedPipeline(async ({ opts }) => {
    opts.onEvent?.({ type: 'delta', delta: 'Hello world.', logprobs: tokens[0] });
    opts.onEvent?.({ type: 'delta', delta: ' Second line here.', logprobs: tokens[1] });
    return result;
  }), { requestFields: declaredFields() });
  const client = await serve(t, pipeline);

  const json = await client.audio.transcriptions.create({
    file: await audio(), model: MODEL, include: ['logprobs'],
    chunking_strategy: { type: 'server_vad', threshold: 0.6, prefix_padding_ms: 200, silence_duration_ms: 700 },
  });
  t.same(json, { text: CANNED_RESULT.text, logprobs: tokens.flat(), usage: { type: 'duration', seconds: 4 } });
  t.same(json.logprobs?.map((l) => l.token).join(''), CANNED_RESULT.text, 'typed Transcription.logprobs');
  t.match(pipeline.submissions[0].input.params, {
    include: ['logprobs'], logprobs: true,
    chunking_strategy: { type: 'server_vad', threshold: 0.6, prefix_padding_ms: 200, silence_duration_ms: 700 },
  }, 'the stages get both, converted and checked');

  await client.audio.transcriptions.create({ file: await audio(), model: MODEL, chunking_strategy: 'auto', repetition_penalty: 1.1 } as OpenAI.Audio.TranscriptionCreateParamsNonStreaming);
  t.match(pipeline.submissions[1].input.params, { chunking_strategy: 'auto', repetition_penalty: 1.1 }, 'auto, and an extension field beside it');

  const stream = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, stream: true, include: ['logprobs'], chunking_strategy: 'auto' });
  const events: OpenAI.Audio.TranscriptionStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  t.same(events, [
    { type: 'transcript.text.delta', delta: 'Hello world.', logprobs: tokens[0] },
    { type: 'transcript.text.delta', delta: ' Second line here.', logprobs: tokens[1] },
    { type: 'transcript.text.done', text: CANNED_RESULT.text, logprobs: tokens.flat(), usage: { type: 'duration', seconds: 4 } },
  ]);

  const bad = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, chunking_strategy: { type: 'server_vad', threshold: 2 } }).catch((err) => err);
  t.ok(bad instanceof OpenAI.BadRequestError);
  t.match(bad, { status: 400, param: 'chunking_strategy' });
  const verbose = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, response_format: 'verbose_json', include: ['logprobs'] }).catch((err) => err);
  t.match(verbose, { status: 400, param: 'include' }, 'logprobs only with json, as OpenAI documents');
});

t.test('errors arrive as the SDK exception classes with status, code and param', async (t) => {
  const pipeline = new ScriptedPipeline();
  const client = await serve(t, pipeline);

  const notFound = await client.audio.transcriptions.create({ file: await audio(), model: 'whisper-1' }).catch((err) => err);
  t.ok(notFound instanceof OpenAI.NotFoundError);
  t.match(notFound, { status: 404, code: 'model_not_found', param: 'model', type: 'invalid_request_error' });

  const badWord = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, response_format: 'verbose_json', timestamp_granularities: ['word'] }).catch((err) => err);
  t.ok(badWord instanceof OpenAI.BadRequestError);
  t.match(badWord, { status: 400, param: 'timestamp_granularities' });

  pipeline.script = fail(new PipelineError('ERR_INVALID_PARAM', "Unsupported language 'klingon'", 'invalid_input', 'language'));
  const badLanguage = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, language: 'klingon' }).catch((err) => err);
  t.ok(badLanguage instanceof OpenAI.BadRequestError);
  t.match(badLanguage, { status: 400, param: 'language', message: /Unsupported language 'klingon'/ });

  pipeline.script = fail(new PipelineError('ERR_OVERLOADED', 'server is at capacity', 'overloaded', undefined, 1));
  const busy = await client.audio.transcriptions.create({ file: await audio(), model: MODEL }).catch((err) => err);
  t.ok(busy instanceof OpenAI.InternalServerError);
  t.match(busy, { status: 503, code: 'overloaded' });
  t.equal(busy.headers.get('retry-after'), '1');

  pipeline.script = fail(new PipelineError('ERR_STAGE_CRASHED', 'decoder worker died', 'internal'), ['Hello']);
  const stream = await client.audio.transcriptions.create({ file: await audio(), model: MODEL, stream: true });
  const seen: unknown[] = [];
  const midStream = await (async () => {
    for await (const event of stream) seen.push(event);
  })().catch((err) => err);
  t.same(seen, [{ type: 'transcript.text.delta', delta: 'Hello' }]);
  t.ok(midStream instanceof OpenAI.APIError, 'a failure mid-stream surfaces as an APIError');
  t.match(midStream.message, /The server had an error while processing your request/);

  const wrongKey = new OpenAI({ apiKey: 'sk-wrong', baseURL: client.baseURL, maxRetries: 0 });
  const unauthorized = await wrongKey.models.list().catch((err) => err);
  t.ok(unauthorized instanceof OpenAI.AuthenticationError);
  t.equal(unauthorized.code, 'invalid_api_key');
});

t.test('models through the SDK', async (t) => {
  const client = await serve(t, new ScriptedPipeline());
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  t.same(ids, [MODEL, 'qwen3-asr']);
  t.equal((await client.models.retrieve(MODEL)).id, MODEL);
});

t.test('aborting the SDK call aborts the pipeline work', async (t) => {
  const pipeline = new ScriptedPipeline(waitForAbort());
  const client = await serve(t, pipeline);
  const controller = new AbortController();
  const call = client.audio.transcriptions.create({ file: await audio(), model: MODEL }, { signal: controller.signal }).catch((err) => err);
  while (pipeline.submissions.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const aborted = pipeline.nextAbort();
  controller.abort();
  await aborted;
  t.ok((await call) instanceof OpenAI.APIUserAbortError);
  t.equal(pipeline.submissions[0].aborted, true);
});
