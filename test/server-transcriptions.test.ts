// POST /v1/audio/transcriptions through fastify.inject against the scripted
// pipeline: the payload the pipeline receives, every field's validation, and
// every status code and header on the wire.
import t, { type Test } from 'tap';
import { PipelineError } from '../src/runtime/contracts.js';
import { buildServer } from '../src/server/app.js';
import { answer, CANNED_RESULT, FAKE_WAV, fail, multipartBody, ScriptedPipeline, type MultipartFile } from './fixtures/server/scripted-pipeline.js';

const MODEL = 'Qwen/Qwen3-ASR-1.7B';
const ALIAS = 'qwen3-asr';
const WAV_FILE: MultipartFile = { bytes: FAKE_WAV, filename: 'clip.wav', type: 'audio/wav' };

async function setup(t: Test, pipeline = new ScriptedPipeline(), extra: { maxUploadBytes?: number } = {}) {
  const app = await buildServer({ pipeline, servedModelNames: [MODEL, ALIAS], ...extra });
  t.teardown(() => app.close());
  const post = async (fields: Record<string, string | string[]>, files: MultipartFile[] = [WAV_FILE]) => {
    const { body, contentType } = await multipartBody(fields, files);
    return app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body });
  };
  return { app, pipeline, post };
}

const errorOf = (res: { json(): unknown }) => (res.json() as { error: { message: string; type: string; param: string | null; code: string } }).error;

t.test('builds the entry payload from the form', async (t) => {
  const { pipeline, post } = await setup(t);
  const res = await post({ model: ALIAS, language: 'en', prompt: 'Cars and trucks.', temperature: '0.4', max_new_tokens: '64', response_format: 'json', unknown_field: 'ignored', 'timestamp_granularities[]': 'segment' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(pipeline.submissions.length, 1);
  const { input, opts } = pipeline.submissions[0];
  t.ok(input.audio instanceof ArrayBuffer, 'audio is an ArrayBuffer');
  t.same([...new Uint8Array(input.audio as ArrayBuffer)], [...FAKE_WAV], 'file bytes intact');
  t.equal((input.audio as ArrayBuffer).byteLength, FAKE_WAV.length, 'the buffer holds only this file');
  t.equal(input.filename, 'clip.wav');
  t.equal(input.contentType, 'audio/wav');
  t.strictSame(input.params, { temperature: 0.4, stream: false, response_format: 'json', logprobs: false, language: 'en', prompt: 'Cars and trucks.', max_new_tokens: 64 });
  t.equal(opts.id, res.headers['x-request-id'], 'the pipeline sees the request id the client got');
  t.ok(opts.signal instanceof AbortSignal && !opts.signal.aborted);
});

t.test('defaults: no model, no format, empty fields count as not sent', async (t) => {
  const { pipeline, post } = await setup(t);
  const res = await post({ language: '', temperature: '' });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  t.equal(res.body, '{"text":"Hello world. Second line here.","usage":{"type":"duration","seconds":4}}');
  t.strictSame(pipeline.submissions[0].input.params, { temperature: 0, stream: false, response_format: 'json', logprobs: false });
});

t.test('every response format on the wire', async (t) => {
  const { pipeline, post } = await setup(t);
  const text = await post({ response_format: 'text' });
  t.equal(text.headers['content-type'], 'text/plain; charset=utf-8');
  t.equal(text.body, 'Hello world. Second line here.');
  const srt = await post({ response_format: 'srt' });
  t.equal(srt.body, '1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n2\n00:00:01,500 --> 00:00:03,200\nSecond line here.\n\n');
  const vtt = await post({ response_format: 'vtt' });
  t.equal(vtt.headers['content-type'], 'text/vtt; charset=utf-8');
  t.equal(vtt.body, 'WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n00:00:01.500 --> 00:00:03.200\nSecond line here.\n\n');
  const verbose = (await post({ response_format: 'verbose_json' })).json();
  t.same(
    pipeline.submissions.map((s: { input: { params?: unknown } }) => (s.input.params as { logprobs: boolean }).logprobs),
    [false, false, false, true],
    'only verbose_json, which reports avg_logprob, asks the model for logprobs',
  );
  t.equal(verbose.task, 'transcribe');
  t.equal(verbose.language, 'english');
  t.equal(verbose.duration, 3.2);
  t.same(verbose.segments.map((s: { seek: number }) => s.seek), [0, 150]);
  t.same(Object.keys(verbose.segments[0]), ['id', 'seek', 'start', 'end', 'text', 'tokens', 'temperature', 'avg_logprob', 'compression_ratio', 'no_speech_prob']);
  t.same(verbose.usage, { type: 'duration', seconds: 4 });
});

t.test('field validation answers 400 naming the field', async (t) => {
  const { pipeline, post } = await setup(t);
  const cases: [Record<string, string | string[]>, string, string][] = [
    [{ response_format: 'xml' }, 'response_format', 'invalid_value'],
    [{ temperature: '1.5' }, 'temperature', 'invalid_value'],
    [{ temperature: '-0.1' }, 'temperature', 'invalid_value'],
    [{ temperature: 'warm' }, 'temperature', 'invalid_value'],
    [{ max_new_tokens: '0' }, 'max_new_tokens', 'invalid_value'],
    [{ max_new_tokens: '2.5' }, 'max_new_tokens', 'invalid_value'],
    [{ stream: 'yes' }, 'stream', 'invalid_value'],
    [{ stream: 'true', response_format: 'srt' }, 'stream', 'invalid_value'],
    [{ 'timestamp_granularities[]': ['segment', 'word'] }, 'timestamp_granularities', 'unsupported_feature'],
    [{ timestamp_granularities: 'character' }, 'timestamp_granularities', 'invalid_value'],
    [{ language: ['en', 'de'] }, 'language', 'invalid_value'],
  ];
  for (const [fields, param, code] of cases) {
    const res = await post(fields);
    t.equal(res.statusCode, 400, JSON.stringify(fields));
    t.same(errorOf(res), { message: errorOf(res).message, type: 'invalid_request_error', param, code }, JSON.stringify(fields));
  }
  t.match(errorOf(await post({ 'timestamp_granularities[]': 'word' })).message, /Word timestamps are not supported/);
  t.equal(pipeline.submissions.length, 0, 'nothing invalid reached the pipeline');
});

t.test('unknown model is 404 model_not_found', async (t) => {
  const { post } = await setup(t);
  const res = await post({ model: 'whisper-1' });
  t.equal(res.statusCode, 404);
  t.same(errorOf(res), { message: `The model 'whisper-1' does not exist. Served models: ${MODEL}, ${ALIAS}.`, type: 'invalid_request_error', param: 'model', code: 'model_not_found' });
});

t.test('multipart shape errors', async (t) => {
  const { app, pipeline, post } = await setup(t, undefined, { maxUploadBytes: 1024 });

  const two = await post({}, [WAV_FILE, { ...WAV_FILE, filename: 'second.wav' }]);
  t.equal(two.statusCode, 400);
  t.match(errorOf(two), { code: 'too_many_files', param: 'file' });

  const none = await post({ model: MODEL }, []);
  t.equal(none.statusCode, 400);
  t.match(errorOf(none), { code: 'missing_file', param: 'file' });

  const asText = await post({ file: 'not really a file' }, []);
  t.match(errorOf(asText).message, /sent as a text field/);

  const wrongName = await post({}, [{ ...WAV_FILE, name: 'audio' }]);
  t.equal(wrongName.statusCode, 400);
  t.match(errorOf(wrongName), { code: 'invalid_multipart', param: 'audio' });

  const big = await post({}, [{ ...WAV_FILE, bytes: new Uint8Array(1025) }]);
  t.equal(big.statusCode, 413);
  t.same(errorOf(big), { message: 'The audio file is larger than the 0.00 MiB limit.', type: 'invalid_request_error', param: 'file', code: 'file_too_large' });
  t.equal((await post({}, [{ ...WAV_FILE, bytes: new Uint8Array(1024) }])).statusCode, 200, 'exactly the limit is fine');

  const hugeField = await post({ prompt: 'x'.repeat(300 * 1024) });
  t.equal(hugeField.statusCode, 413);
  t.match(errorOf(hugeField), { code: 'field_too_large', param: 'prompt' });

  const manyFields = await post(Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, 'x'])));
  t.equal(manyFields.statusCode, 413);
  t.match(errorOf(manyFields), { code: 'form_too_large' });

  const json = await app.inject({ method: 'POST', url: '/v1/audio/transcriptions', payload: { file: 'x' } });
  t.equal(json.statusCode, 415);
  t.match(errorOf(json), { code: 'unsupported_media_type', message: 'Content-Type must be multipart/form-data (got application/json).' });

  const octets = await app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': 'audio/wav' }, payload: Buffer.from(FAKE_WAV) });
  t.equal(octets.statusCode, 415);
  t.equal(errorOf(octets).type, 'invalid_request_error');

  const truncated = await app.inject({
    method: 'POST',
    url: '/v1/audio/transcriptions',
    headers: { 'content-type': 'multipart/form-data; boundary=XYZ' },
    payload: '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
  });
  t.equal(truncated.statusCode, 400, truncated.body);
  t.match(errorOf(truncated), { code: 'invalid_multipart' });
  t.equal(pipeline.submissions.length, 1, 'only the request at the limit was submitted');
});

t.test('the default upload limit is 25 MiB', async (t) => {
  const { pipeline, post } = await setup(t);
  const limit = 25 * 2 ** 20;
  t.equal((await post({}, [{ ...WAV_FILE, bytes: new Uint8Array(limit) }])).statusCode, 200, 'well past fastify\'s 1 MiB bodyLimit');
  t.equal((pipeline.submissions[0].input.audio as ArrayBuffer).byteLength, limit);
  const over = await post({}, [{ ...WAV_FILE, bytes: new Uint8Array(limit + 1) }]);
  t.equal(over.statusCode, 413);
  t.equal(errorOf(over).message, 'The audio file is larger than the 25 MiB limit.');
});

t.test('pipeline errors keep status, param and Retry-After; 500s hide details', async (t) => {
  const pipeline = new ScriptedPipeline();
  const { post } = await setup(t, pipeline);

  pipeline.script = fail(new PipelineError('ERR_INVALID_PARAM', "Unsupported language 'xx'", 'invalid_input', 'language'));
  const language = await post({ language: 'xx' });
  t.equal(language.statusCode, 400);
  t.same(errorOf(language), { message: "Unsupported language 'xx'", type: 'invalid_request_error', param: 'language', code: 'invalid_param' });

  pipeline.script = fail(new PipelineError('ERR_AUDIO_UNSUPPORTED', 'Unsupported audio format: text/plain', 'unsupported_media', 'file'));
  const unsupported = await post({});
  t.equal(unsupported.statusCode, 415);
  t.same(errorOf(unsupported), { message: 'Unsupported audio format: text/plain', type: 'invalid_request_error', param: 'file', code: 'audio_unsupported' });

  pipeline.script = fail(new PipelineError('ERR_OVERLOADED', 'server is at capacity (2 running, 4 waiting)', 'overloaded', undefined, 2.5));
  const overloaded = await post({});
  t.equal(overloaded.statusCode, 503);
  t.equal(overloaded.headers['retry-after'], '3');
  t.same(errorOf(overloaded), { message: 'server is at capacity (2 running, 4 waiting)', type: 'server_error', param: null, code: 'overloaded' });

  pipeline.script = fail(new PipelineError('ERR_RATE_LIMITED', 'slow down', 'rate_limited', undefined, 1));
  const limited = await post({});
  t.equal(limited.statusCode, 429);
  t.equal(limited.headers['retry-after'], '1');
  t.equal(errorOf(limited).type, 'rate_limit_error');

  pipeline.script = fail(new PipelineError('ERR_STAGE_UNAVAILABLE', 'stage encoder failed to load: ENOENT /home/user/.cache/sgl-omni/model.onnx', 'unavailable'));
  const unavailable = await post({});
  t.equal(unavailable.statusCode, 503);
  t.equal(errorOf(unavailable).message, 'stage encoder failed to load: ENOENT <path>', 'absolute paths removed');

  pipeline.script = fail(new PipelineError('ERR_STAGE_CRASHED', 'worker died at /work/main/stages/x.ts:12', 'internal'));
  const crashed = await post({});
  t.equal(crashed.statusCode, 500);
  t.same(errorOf(crashed), { message: `The server had an error while processing your request (request id ${crashed.headers['x-request-id']}).`, type: 'server_error', param: null, code: 'stage_crashed' });

  pipeline.script = async () => {
    throw new TypeError('Cannot read properties of undefined (reading "x") at /work/main/src/y.ts:3');
  };
  const bug = await post({});
  t.equal(bug.statusCode, 500);
  t.notMatch(bug.body, /work|\.ts|TypeError|at /, 'no stack, path or error class in the body');

  pipeline.script = answer({ language: 'English' });
  const malformed = await post({});
  t.equal(malformed.statusCode, 500, 'a result without text is an internal error');
  t.equal(errorOf(malformed).code, 'internal_error');
});

t.test('the double records each submission separately', async (t) => {
  const { pipeline, post } = await setup(t, new ScriptedPipeline(answer(CANNED_RESULT)));
  await post({ prompt: 'one' });
  await post({ prompt: 'two' });
  t.same(pipeline.submissions.map((s) => (s.input.params as { prompt: string }).prompt), ['one', 'two']);
  t.not(pipeline.submissions[0].opts.id, pipeline.submissions[1].opts.id, 'request ids differ');
});
