// Every field and response format of POST /v1/audio/transcriptions, through the
// official `openai` npm client and through raw multipart requests, against the
// real server over pipelines/qwen3-asr.yaml on the tiny checkpoint. Expected
// transcripts are what the pipeline itself gives for the same bytes and params.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import t from 'tap';
import { buildServer } from '../src/server/app.js';
import type { TranscriptionResult, TranscriptSegment } from '../src/contracts/transcription.js';
import { repoRoot } from '../src/util/paths.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';

const MODEL = 'qwen3-asr-tiny';
const ALIAS = 'qwen3-asr';
const JFK_SECONDS = 11;
const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));

const server = await startTinyServer({ servedModelNames: [MODEL, ALIAS] });
t.teardown(() => server.close());
const client = new OpenAI({ apiKey: 'unused', baseURL: `${server.base}/v1`, maxRetries: 0 });
const file = () => toFile(wav, 'jfk.wav', { type: 'audio/wav' });


/** What the pipeline gives for jfk.wav with these params, bypassing HTTP. */
async function fromPipeline(params: Record<string, unknown> = {}): Promise<TranscriptionResult> {
  const audio = wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength);
  const input = { audio, filename: 'jfk.wav', contentType: 'audio/wav', params: { temperature: 0, stream: false, response_format: 'json', ...params } };
  return (await server.pipeline.submit(input)) as unknown as TranscriptionResult;
}

/** A raw multipart POST of jfk.wav with these form fields (repeated names as arrays). */
function post(fields: Record<string, string | string[]>, route = 'transcriptions'): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(name, v);
  return fetch(`${server.base}/v1/audio/${route}`, { method: 'POST', body: form });
}

const sdkError = (call: Promise<unknown>) => call.then(() => undefined, (err: unknown) => err as InstanceType<typeof OpenAI.APIError>);

/** `data:` payloads of an SSE body, in order. */
const sseData = (body: string) => body.split('\n\n').filter((frame) => frame.startsWith('data: ')).map((frame) => frame.slice('data: '.length));

const greedy = await fromPipeline();
t.ok(greedy.segments[0].tokens.length > 8, 'the tiny model generates enough tokens for the limits below to bite');

t.test('model: canonical id, alias, unknown → 404 model_not_found', async (t) => {
  const usage = { type: 'duration', seconds: JFK_SECONDS };
  t.same(await client.audio.transcriptions.create({ file: await file(), model: MODEL }), { text: greedy.text, usage });
  t.same(await client.audio.transcriptions.create({ file: await file(), model: ALIAS }), { text: greedy.text, usage });
  const raw = await post({ model: ALIAS });
  t.equal(raw.status, 200);
  t.same(await raw.json(), { text: greedy.text, usage });
  const noModel = await post({});
  t.same(await noModel.json(), { text: greedy.text, usage }, 'no model field means the canonical model');

  const missing = await sdkError(client.audio.transcriptions.create({ file: await file(), model: 'whisper-1' }));
  t.ok(missing instanceof OpenAI.NotFoundError);
  t.match(missing, { status: 404, code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
  const rawMissing = await post({ model: 'whisper-1' });
  t.equal(rawMissing.status, 404);
  t.match(await rawMissing.json(), { error: { code: 'model_not_found', param: 'model', message: /whisper-1/ } });
});

t.test('language: ISO code and name force the same language; anything else is a 400 on param language', async (t) => {
  const forced = await fromPipeline({ language: 'en' });
  const byCode = await client.audio.transcriptions.create({ file: await file(), model: MODEL, language: 'en', response_format: 'verbose_json' });
  t.equal(byCode.language, 'english', 'verbose_json names the language in lower-case English');
  t.equal(byCode.text, forced.text);
  const byName = await post({ model: MODEL, language: 'English', response_format: 'verbose_json' });
  t.match(await byName.json(), { language: 'english', text: forced.text });
  const zh = await post({ model: MODEL, language: 'zh', response_format: 'verbose_json' });
  t.match(await zh.json(), { language: 'chinese', text: (await fromPipeline({ language: 'Chinese' })).text });

  for (const language of ['xx', 'klingon']) {
    const bad = await sdkError(client.audio.transcriptions.create({ file: await file(), model: MODEL, language }));
    t.ok(bad instanceof OpenAI.BadRequestError, language);
    t.match(bad, { status: 400, param: 'language', type: 'invalid_request_error' });
    const raw = await post({ model: MODEL, language });
    t.equal(raw.status, 400);
    t.match(await raw.json(), { error: { param: 'language', message: new RegExp(language) } });
  }
});

t.test('prompt reaches the model as context', async (t) => {
  const prompt = 'Ask not what your country can do for you.';
  const withPrompt = await fromPipeline({ prompt });
  t.notSame(withPrompt.segments[0].tokens, greedy.segments[0].tokens, 'the context changes what greedy decoding produces');
  const sdk = await client.audio.transcriptions.create({ file: await file(), model: MODEL, prompt, response_format: 'verbose_json' });
  t.same(sdk.segments?.[0].tokens, withPrompt.segments[0].tokens);
  t.equal(sdk.text, withPrompt.text);
  const raw = await post({ model: MODEL, prompt, response_format: 'verbose_json' });
  t.same((await raw.json()).segments[0].tokens, withPrompt.segments[0].tokens);
});

t.test('response_format: exact bodies and content types', async (t) => {
  const cue = greedy.text.trim();
  t.notMatch(cue, /\n\s*\n/, 'the transcript has no blank line, so it is one cue as it stands');
  const vttCue = cue.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const expected = {
    json: JSON.stringify({ text: greedy.text, usage: { type: 'duration', seconds: JFK_SECONDS } }),
    text: greedy.text,
    srt: `1\n00:00:00,000 --> 00:00:11,000\n${cue}\n\n`,
    vtt: `WEBVTT\n\n00:00:00.000 --> 00:00:11.000\n${vttCue}\n\n`,
  };
  const types = { json: /^application\/json/, text: /^text\/plain/, srt: /^text\/plain/, vtt: /^text\/vtt/ };
  for (const format of ['json', 'text', 'srt', 'vtt'] as const) {
    const raw = await post({ model: MODEL, response_format: format });
    t.equal(raw.status, 200, format);
    t.match(raw.headers.get('content-type'), types[format], format);
    t.equal(await raw.text(), expected[format], format);
  }
  t.equal(await client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'text' }), expected.text);
  t.equal(await client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'srt' }), expected.srt);
  t.equal(await client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'vtt' }), expected.vtt);

  const verbose = await client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'verbose_json', timestamp_granularities: ['segment'] });
  const segment = greedy.segments[0];
  t.strictSame(verbose, {
    task: 'transcribe',
    language: greedy.language.toLowerCase(),
    duration: JFK_SECONDS,
    text: greedy.text,
    segments: [
      {
        id: 0,
        seek: 0,
        start: 0,
        end: JFK_SECONDS,
        text: greedy.text,
        tokens: segment.tokens,
        temperature: 0,
        avg_logprob: segment.avg_logprob,
        compression_ratio: segment.compression_ratio,
        no_speech_prob: segment.no_speech_prob,
      },
    ],
    usage: { type: 'duration', seconds: JFK_SECONDS },
  });
  t.ok(segment.avg_logprob < 0, 'avg_logprob is a real mean log-probability');
  t.ok(segment.compression_ratio > 0);

  const rawVerbose = await post({ model: MODEL, response_format: 'verbose_json', 'timestamp_granularities[]': 'segment' });
  t.strictSame(await rawVerbose.json(), verbose);
  const badFormat = await post({ model: MODEL, response_format: 'docx' });
  t.equal(badFormat.status, 400);
  t.match(await badFormat.json(), { error: { param: 'response_format' } });
});

t.test('temperature: 0..1 accepted and recorded, out of range is a 400', async (t) => {
  for (const temperature of [0.3, 1]) {
    const sampled = await client.audio.transcriptions.create({ file: await file(), model: MODEL, temperature, response_format: 'verbose_json' });
    t.equal(sampled.segments?.[0].temperature, temperature);
    t.ok(sampled.segments![0].tokens.length > 0);
  }
  for (const temperature of [-0.1, 1.5]) {
    const bad = await sdkError(client.audio.transcriptions.create({ file: await file(), model: MODEL, temperature }));
    t.ok(bad instanceof OpenAI.BadRequestError);
    t.match(bad, { status: 400, param: 'temperature' });
  }
  const raw = await post({ model: MODEL, temperature: 'warm' });
  t.equal(raw.status, 400);
  t.match(await raw.json(), { error: { param: 'temperature', type: 'invalid_request_error' } });
});

t.test('seed (extension): sampling with temperature > 0 repeats for the same seed', async (t) => {
  const tokensFor = async (seed: string) => {
    const res = await post({ model: MODEL, temperature: '0.9', seed, response_format: 'verbose_json' });
    t.equal(res.status, 200);
    return (await res.json()).segments[0].tokens as number[];
  };
  const expected = (await fromPipeline({ temperature: 0.9, seed: 7 })).segments[0].tokens;
  t.notSame(expected, greedy.segments[0].tokens, 'sampling departs from greedy decoding');
  t.same(await tokensFor('7'), expected);
  t.same(await tokensFor('7'), expected, 'again');
  t.notSame(await tokensFor('8'), expected, 'another seed samples differently');
  const sdk = await client.audio.transcriptions.create({ file: await file(), model: MODEL, temperature: 0.9, response_format: 'verbose_json', ...{ seed: 7 } });
  t.same(sdk.segments?.[0].tokens, expected);
  for (const seed of ['-1', '4294967296', 'x']) {
    const bad = await post({ model: MODEL, seed });
    t.equal(bad.status, 400, seed);
    t.match(await bad.json(), { error: { param: 'seed' } });
  }
});

t.test('max_new_tokens caps the generated tokens (greedy: a prefix of the uncapped run)', async (t) => {
  const limit = 5;
  const prefix = greedy.segments[0].tokens.slice(0, limit);
  const raw = await post({ model: MODEL, response_format: 'verbose_json', max_new_tokens: String(limit) });
  t.same((await raw.json()).segments[0].tokens, prefix);
  // The SDK sends extra body fields as form fields.
  const extension = { max_new_tokens: limit };
  const sdk = await client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'verbose_json', ...extension });
  t.same(sdk.segments?.[0].tokens, prefix);
  for (const value of ['0', '2.5', 'many']) {
    const bad = await post({ model: MODEL, max_new_tokens: value });
    t.equal(bad.status, 400, value);
    t.match(await bad.json(), { error: { param: 'max_new_tokens' } });
  }
});

t.test('stream=true: delta events, then done with text and usage', async (t) => {
  const stream = await client.audio.transcriptions.create({ file: await file(), model: MODEL, stream: true });
  const events: { type: string; delta?: string; text?: string; usage?: unknown }[] = [];
  for await (const event of stream) events.push(event);
  const deltas = events.slice(0, -1);
  t.ok(deltas.length >= 1, `${deltas.length} delta events`);
  t.ok(deltas.every((e) => e.type === 'transcript.text.delta' && typeof e.delta === 'string' && e.delta !== ''));
  // The tiny model loops on '\n' after a few characters: the stream never shows the copies the cleanup trims.
  t.equal(deltas.map((e) => e.delta).join(''), greedy.text, 'the deltas joined are the final text');
  t.same(events.at(-1), { type: 'transcript.text.done', text: greedy.text, usage: { type: 'duration', seconds: JFK_SECONDS } });

  const forced = await fromPipeline({ language: 'en' });
  const raw = await post({ model: MODEL, stream: 'true', language: 'en' });
  t.match(raw.headers.get('content-type'), /^text\/event-stream/);
  const frames = sseData(await raw.text());
  t.equal(frames.at(-1), '[DONE]');
  const rawEvents = frames.slice(0, -1).map((frame) => JSON.parse(frame));
  const streamed = rawEvents.filter((e) => e.type === 'transcript.text.delta').map((e) => e.delta).join('');
  t.notMatch(streamed, /language|<asr_text>/, 'the language prefix never reaches the deltas');
  t.same(rawEvents.at(-1), { type: 'transcript.text.done', text: forced.text, usage: { type: 'duration', seconds: JFK_SECONDS } });

  const verbose = await post({ model: MODEL, stream: 'true', response_format: 'verbose_json' });
  t.equal(verbose.status, 400, 'streaming is for json and text');
  t.match(await verbose.json(), { error: { param: 'stream' } });
});

t.test('timestamp_granularities: segment is fine, word is a clear 400', async (t) => {
  const word = await sdkError(client.audio.transcriptions.create({ file: await file(), model: MODEL, response_format: 'verbose_json', timestamp_granularities: ['word'] }));
  t.ok(word instanceof OpenAI.BadRequestError);
  t.match(word, { status: 400, param: 'timestamp_granularities', message: /Word timestamps are not supported/ });
  const raw = await post({ model: MODEL, response_format: 'verbose_json', 'timestamp_granularities[]': ['segment', 'word'] });
  t.equal(raw.status, 400);
  t.match(await raw.json(), { error: { param: 'timestamp_granularities', code: 'unsupported_feature' } });
});

t.test('unknown fields are ignored, as OpenAI does', async (t) => {
  // chunking_strategy is not unknown any more (it turns the VAD on: test/vad-chunking-http.test.ts).
  const raw = await post({ model: MODEL, user: 'someone', 'include[]': 'logprobs', some_future_field: 'x' });
  t.equal(raw.status, 200);
  t.equal((await raw.json()).text, greedy.text);
});

t.test('translations answer 400 with a clear message', async (t) => {
  const sdk = await sdkError(client.audio.translations.create({ file: await file(), model: MODEL }));
  t.ok(sdk instanceof OpenAI.BadRequestError);
  t.match(sdk, { status: 400, message: /cannot translate/ });
  const raw = await post({ model: MODEL }, 'translations');
  t.equal(raw.status, 400);
  t.match(await raw.json(), { error: { type: 'invalid_request_error', message: /\/v1\/audio\/transcriptions/ } });
});

t.test('limits: a file over the upload limit is 413, bytes that are not audio are 415', async (t) => {
  // A second server on the same pipeline, with a limit below jfk.wav's 352 KB.
  const small = await buildServer({ pipeline: server.pipeline, servedModelNames: [MODEL], maxUploadBytes: 64 * 1024 });
  t.teardown(() => small.close());
  const smallClient = new OpenAI({ apiKey: 'unused', baseURL: `${await small.listen({ port: 0, host: '127.0.0.1' })}/v1`, maxRetries: 0 });
  const big = await sdkError(smallClient.audio.transcriptions.create({ file: await file(), model: MODEL }));
  t.ok(big instanceof OpenAI.APIError);
  t.match(big, { status: 413, code: 'file_too_large', param: 'file', type: 'invalid_request_error', message: /larger than the 0\.06 MiB limit/ });

  const text = await sdkError(client.audio.transcriptions.create({ file: await toFile(Buffer.from('not audio at all\n'), 'notes.txt', { type: 'text/plain' }), model: MODEL }));
  t.ok(text instanceof OpenAI.APIError);
  t.match(text, { status: 415, param: 'file', type: 'invalid_request_error', message: /Unsupported audio format/ });
  const form = new FormData();
  form.append('file', new Blob(['%PDF-1.4\n%âãÏÓ\n'], { type: 'application/pdf' }), 'paper.pdf');
  const raw = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(raw.status, 415);
  t.match(await raw.json(), { error: { code: 'audio_unsupported', param: 'file' } });
});

/** Value of one series in Prometheus exposition text (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = match[2] ? match[2].split(',') : [];
    if (wanted.length === have.length && wanted.every((label) => have.includes(label))) return Number(match[3]);
  }
  return 0;
}

let scrapes = 0;
const scrape = async () => (scrapes++, (await fetch(`${server.base}/metrics`)).text());

t.test('GET /metrics moves by what one request did', async (t) => {
  const limit = 5;
  const stages = server.pipeline.stats().map((s) => s.stage);
  // Work of earlier tests (a cancelled stream) may still be finishing in a worker: let it land first.
  for (let i = 0; i < 250 && server.pipeline.stats().some((s) => s.running + s.queued > 0); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const before = await scrape();
  const scrapesBefore = scrapes;
  const res = await post({ model: MODEL, response_format: 'verbose_json', max_new_tokens: String(limit) });
  t.equal(res.status, 200);
  const tokens = (await res.json()).segments.reduce((n: number, s: TranscriptSegment) => n + s.tokens.length, 0);
  t.equal(tokens, limit);
  // Batch reports and worker counters may trail the response by a moment.
  let after = await scrape();
  const moved = (name: string, labels?: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
  const reported = () => moved('sgl_omni_worker_generated_tokens', { stage: 'decoder' }) >= limit && moved('sgl_omni_stage_batch_size_count', { stage: 'decoder' }) >= 1;
  for (let i = 0; i < 50 && !reported(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    after = await scrape();
  }

  t.equal(moved('sgl_omni_http_requests_total', { method: 'POST', route: '/v1/audio/transcriptions', status: '200' }), 1);
  t.equal(moved('sgl_omni_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }), scrapes - scrapesBefore, 'each scrape counts once answered');
  t.equal(moved('sgl_omni_audio_seconds_processed_total'), JFK_SECONDS);
  t.equal(moved('sgl_omni_generated_tokens_total'), tokens);
  t.equal(moved('sgl_omni_transcription_rtf_count'), 1);
  t.ok(moved('sgl_omni_transcription_rtf_sum') > 0);
  t.equal(moved('sgl_omni_worker_generated_tokens', { stage: 'decoder' }), limit, 'the decoder counted the same tokens (no end-of-sequence: the cap stopped it)');
  t.equal(moved('sgl_omni_worker_decode_rows', { stage: 'decoder' }), limit - 1, 'the first token comes from prefill, the rest from decode steps');
  t.ok(sample(after, 'sgl_omni_worker_decode_seconds', { stage: 'decoder' }) > 0, 'time in the model, in seconds');
  t.equal(moved('sgl_omni_worker_clips', { stage: 'encoder' }), 1);
  t.same(stages, ['decode', 'resample', 'vad', 'features', 'encoder', 'decoder']);
  for (const stage of stages) {
    t.equal(moved('sgl_omni_stage_batch_size_count', { stage }), 1, `${stage}: one batch`);
    t.equal(moved('sgl_omni_stage_batch_size_sum', { stage }), 1, `${stage}: of one item`);
    t.equal(moved('sgl_omni_stage_queue_wait_seconds_count', { stage }), 1);
    t.ok(moved('sgl_omni_stage_batch_seconds_sum', { stage }) > 0, `${stage}: time spent`);
    t.equal(moved('sgl_omni_stage_completed', { stage }), 1);
    t.match(after, `sgl_omni_stage_queued{stage="${stage}"} 0`, `${stage}: queue depth`);
  }
});
