// stream=true: the exact SSE bytes, headers held until the first event (so
// early failures are real HTTP errors), and failures after the stream started
// sent as an error event that ends the stream.
import t, { type Test } from 'tap';
import { PipelineError } from '../src/runtime/contracts.js';
import { buildServer } from '../src/server/app.js';
import { answer, CANNED_DELTAS, CANNED_RESULT, FAKE_WAV, fail, multipartBody, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';

async function setup(t: Test, pipeline: ScriptedPipeline) {
  const app = await buildServer({ pipeline, servedModelNames: ['m'] });
  t.teardown(() => app.close());
  const { body, contentType } = await multipartBody({ stream: 'true', response_format: 'text' }, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  return () => app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body });
}

const DONE = 'data: {"type":"transcript.text.done","text":"Hello world. Second line here.","usage":{"type":"duration","seconds":4}}\n\n';

t.test('deltas, done, [DONE]', async (t) => {
  const pipeline = new ScriptedPipeline(answer(CANNED_RESULT, CANNED_DELTAS));
  const res = await (await setup(t, pipeline))();
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  t.equal(res.headers['cache-control'], 'no-cache');
  t.equal(
    res.body,
    'data: {"type":"transcript.text.delta","delta":"Hello"}\n\n' +
      'data: {"type":"transcript.text.delta","delta":" world."}\n\n' +
      'data: {"type":"transcript.text.delta","delta":" Second line here."}\n\n' +
      DONE +
      'data: [DONE]\n\n',
  );
  t.equal((pipeline.submissions[0].input.params as { stream: boolean }).stream, true, 'the decoder is told to stream');
});

t.test('a pipeline that emits no deltas still streams the whole text once', async (t) => {
  const res = await (await setup(t, new ScriptedPipeline(answer())))();
  t.equal(res.body, 'data: {"type":"transcript.text.delta","delta":"Hello world. Second line here."}\n\n' + DONE + 'data: [DONE]\n\n');
});

t.test('a failure before any event is a plain HTTP error', async (t) => {
  const res = await (await setup(t, new ScriptedPipeline(fail(new PipelineError('ERR_QUEUE_FULL', 'stage decoder queue is full (64 waiting)', 'overloaded', undefined, 2)))))();
  t.equal(res.statusCode, 503);
  t.equal(res.headers['retry-after'], '2');
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(res.json(), { error: { message: 'stage decoder queue is full (64 waiting)', type: 'server_error', param: null, code: 'queue_full' } });
});

t.test('a failure after the stream started is an error event, then the end', async (t) => {
  const res = await (await setup(t, new ScriptedPipeline(fail(new PipelineError('ERR_STAGE_CRASHED', 'worker exited with code 1 at /opt/x.js', 'internal'), ['Hello']))))();
  t.equal(res.statusCode, 200);
  const [first, second, ...rest] = res.body.split('\n\n');
  t.equal(first, 'data: {"type":"transcript.text.delta","delta":"Hello"}');
  const event = JSON.parse(second.replace(/^data: /, ''));
  t.same(event, { type: 'error', error: { message: `The server had an error while processing your request (request id ${res.headers['x-request-id']}).`, type: 'server_error', param: null, code: 'stage_crashed' } });
  t.same(rest, [''], 'nothing after the error event, no [DONE]');
});
