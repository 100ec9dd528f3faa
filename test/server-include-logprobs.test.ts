// include[]=logprobs on POST /v1/audio/transcriptions, in OpenAI's shapes:
// json gets `logprobs: [{ token, logprob, bytes }]` between text and usage; a
// stream's deltas carry their tokens' logprobs and the done event all of them;
// the decoder is asked only when the client asked; other formats and values
// are a 400 naming `include`; a malformed entry from a stage is a 500.
import t, { type Test } from 'tap';
import type { Payload } from '../src/runtime/contracts.js';
import { buildServer } from '../src/server/app.js';
import { CANNED_RESULT, FAKE_WAV, multipartBody, ScriptedPipeline, type Script } from './fixtures/server/scripted-pipeline.js';

const lp = (token: string, logprob: number) => ({ token, logprob, bytes: [...Buffer.from(token, 'utf8')] });
const SEG0 = [lp('Hello', -0.01), lp(' world', -0.2), lp('.', -0.05)];
const SEG1 = [lp(' Second', -0.5), lp(' line', -0.125), lp(' here.', -1.5)];
const RESULT: Payload = {
  ...CANNED_RESULT,
  segments: (CANNED_RESULT.segments as object[]).map((s, i) => ({ ...s, logprobs: [SEG0, SEG1][i] })),
};
const DELTAS = [{ delta: 'Hello', logprobs: [SEG0[0]] }, { delta: ' world.', logprobs: SEG0.slice(1) }, { delta: ' Second line here.', logprobs: SEG1 }];

/** Emits the deltas (with their logprobs) one per tick, then the result. */
const withLogprobs = (result: Payload = RESULT): Script => async ({ opts }) => {
  for (const event of DELTAS) {
    await new Promise((resolve) => setImmediate(resolve));
    opts.onEvent?.({ type: 'delta', ...event });
  }
  return result;
};

async function setup(t: Test, script: Script = withLogprobs()) {
  const pipeline = new ScriptedPipeline(script);
  const app = await buildServer({ pipeline, servedModelNames: ['m'] });
  t.teardown(() => app.close());
  const post = async (fields: Record<string, string | string[]>) => {
    const { body, contentType } = await multipartBody(fields, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
    return app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body });
  };
  return { pipeline, post };
}

t.test('json: logprobs of every segment\'s tokens, in order, between text and usage', async (t) => {
  const { pipeline, post } = await setup(t);
  const res = await post({ 'include[]': 'logprobs' });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.body, JSON.stringify({ text: RESULT.text, logprobs: [...SEG0, ...SEG1], usage: { type: 'duration', seconds: 4 } }), 'bytes on the wire');
  t.match(pipeline.submissions[0].input.params, { include: ['logprobs'], logprobs: true }, 'the decoder is asked for them');

  const plain = await post({});
  t.same(plain.json(), { text: RESULT.text, usage: { type: 'duration', seconds: 4 } }, 'not asked: not shown');
  t.match(pipeline.submissions[1].input.params, { logprobs: false });
  t.notOk('include' in (pipeline.submissions[1].input.params as object), 'and not computed');
  t.match((await post({ include: 'logprobs' })).json(), { logprobs: Array }, 'include without [] too');
});

t.test('stream: each delta carries its tokens\' logprobs, the done event all of them', async (t) => {
  const { post } = await setup(t);
  const res = await post({ 'include[]': 'logprobs', stream: 'true' });
  t.equal(res.statusCode, 200);
  const events = res.body.split('\n\n').filter((f) => f).map((f) => f.slice('data: '.length));
  t.equal(events.pop(), '[DONE]');
  t.same(events.map((e) => JSON.parse(e)), [
    ...DELTAS.map((d) => ({ type: 'transcript.text.delta', ...d })),
    { type: 'transcript.text.done', text: RESULT.text, logprobs: [...SEG0, ...SEG1], usage: { type: 'duration', seconds: 4 } },
  ]);
  const without = await post({ stream: 'true' });
  t.notMatch(without.body, /logprobs/, 'not asked: no logprobs in any event');
});

t.test('other formats and values are a 400 naming include', async (t) => {
  const { pipeline, post } = await setup(t);
  for (const [fields, says] of [
    [{ 'include[]': 'logprobs', response_format: 'verbose_json' }, "include[]=logprobs works with response_format json, as OpenAI's does (got 'verbose_json')."],
    [{ 'include[]': 'logprobs', response_format: 'text', stream: 'true' }, "include[]=logprobs works with response_format json, as OpenAI's does (got 'text')."],
    [{ 'include[]': 'tokens' }, "include[] takes 'logprobs' only (got 'tokens')."],
    [{ 'include[]': ' logprobs' }, "include[] takes 'logprobs' only (got ' logprobs')."],
  ] as [Record<string, string>, string][]) {
    const res = await post(fields);
    t.equal(res.statusCode, 400, JSON.stringify(fields));
    t.same(res.json().error, { message: says, type: 'invalid_request_error', param: 'include', code: 'invalid_value' });
  }
  t.equal(pipeline.submissions.length, 0, 'none reached the pipeline');
});

t.test('a malformed logprob entry from the pipeline is a 500, not a malformed answer', async (t) => {
  const bad = { ...RESULT, segments: [{ ...(RESULT.segments as object[])[0], logprobs: [{ token: 'x', logprob: 'high', bytes: [1] }] }] };
  const { post } = await setup(t, withLogprobs(bad));
  const res = await post({ 'include[]': 'logprobs' });
  t.equal(res.statusCode, 500);
  t.match(res.json().error, { type: 'server_error' });
});

t.test('a pipeline whose stages do not declare include cannot give logprobs: a 400 saying so', async (t) => {
  const pipeline = Object.assign(new ScriptedPipeline(withLogprobs()), { requestFields: { language: { type: 'string' } } });
  const app = await buildServer({ pipeline, servedModelNames: ['m'] });
  t.teardown(() => app.close());
  const { body, contentType } = await multipartBody({ 'include[]': 'logprobs' }, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
  const res = await app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body });
  t.equal(res.statusCode, 400);
  t.match(res.json().error, { param: 'include', code: 'unsupported_feature', message: /not available from this pipeline/ });
  t.equal(pipeline.submissions.length, 0);
});
