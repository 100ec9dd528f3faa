// X-Request-Id: a sane id the client sends is kept, echoed on the answer (errors
// and streams too), handed to the pipeline and on every log line of the
// request; a missing, malformed or already-in-flight id gets a fresh UUID.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { buildServer } from '../src/server/app.js';
import { answer, CANNED_RESULT, FAKE_WAV, multipartBody, ScriptedPipeline, waitForAbort } from './fixtures/server/scripted-pipeline.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function setup(t: Test, pipeline = new ScriptedPipeline()) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text));
      done();
    },
  });
  const app = await buildServer({ pipeline, servedModelNames: ['m'], logger: pino({ level: 'debug' }, stream) });
  t.teardown(() => app.close());
  const post = async (headers: Record<string, string>, fields: Record<string, string> = {}) => {
    const { body, contentType } = await multipartBody(fields, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
    return app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType, ...headers }, payload: body });
  };
  return { app, lines, pipeline, post };
}

t.test('a sane client id is kept: header, pipeline, every log line of the request', async (t) => {
  const { lines, pipeline, post } = await setup(t);
  for (const id of ['trace-7f3a9c', '01HZX3J8W6Q2M9C5E7R1T4Y0AB', 'b3:span/42+x=1@edge', 'a'.repeat(128)]) {
    const res = await post({ 'x-request-id': id });
    t.equal(res.statusCode, 200);
    t.equal(res.headers['x-request-id'], id, 'echoed');
    t.equal(pipeline.submissions.at(-1)!.opts.id, id, 'the pipeline sees it');
    const mine = lines.filter((l) => l.reqId === id);
    t.ok(mine.length >= 2, 'arrival and completion lines carry it');
    t.ok(mine.some((l) => l.msg === 'request completed'));
  }
  t.ok(lines.filter((l) => 'req' in l || 'res' in l).every((l) => typeof l.reqId === 'string'), 'no request line without an id');
});

t.test('a missing or malformed id gets a UUID', async (t) => {
  const { lines, post } = await setup(t);
  for (const sent of [undefined, '', 'a'.repeat(129), 'has space', 'quote"d', 'new\\nline', 'ünïcode', '<script>']) {
    const res = await post(sent === undefined ? {} : { 'x-request-id': sent });
    const id = res.headers['x-request-id'] as string;
    t.match(id, UUID, `${JSON.stringify(sent)} → ${id}`);
    t.ok(lines.some((l) => l.reqId === id && l.msg === 'request completed'), 'logged under the new id');
  }
});

t.test('errors and streams carry the id too', async (t) => {
  const { post } = await setup(t, new ScriptedPipeline(answer(CANNED_RESULT, ['Hello'])));
  const bad = await post({ 'x-request-id': 'bad-1' }, { temperature: '9' });
  t.equal(bad.statusCode, 400);
  t.equal(bad.headers['x-request-id'], 'bad-1');
  const stream = await post({ 'x-request-id': 'stream-1' }, { stream: 'true' });
  t.match(stream.headers['content-type'], /event-stream/);
  t.equal(stream.headers['x-request-id'], 'stream-1');
});

t.test('an id already in flight is not shared: the second request gets a UUID; it is free again once answered', async (t) => {
  const pipeline = new ScriptedPipeline(waitForAbort());
  const { app, lines, post } = await setup(t, pipeline);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as { port: number };
  const { body, contentType } = await multipartBody({}, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
  const controller = new AbortController();
  const first = fetch(`http://127.0.0.1:${port}/v1/audio/transcriptions`, { method: 'POST', headers: { 'content-type': contentType, 'x-request-id': 'dup-1' }, body: new Uint8Array(body), signal: controller.signal }).catch(() => undefined);
  while (pipeline.submissions.length === 0) await new Promise((resolve) => setImmediate(resolve));
  t.equal(pipeline.submissions[0].opts.id, 'dup-1');

  pipeline.script = answer();
  const second = await post({ 'x-request-id': 'dup-1' });
  t.match(second.headers['x-request-id'], UUID, 'in flight: replaced');
  t.equal(pipeline.submissions[1].opts.id, second.headers['x-request-id']);

  controller.abort();
  await first;
  // The server's own event for it: the line it logs when it sees the client gone (the id is freed on the same close).
  const deadline = Date.now() + 10_000;
  while (!lines.some((l) => l.reqId === 'dup-1' && l.msg === 'request ended: the client left') && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  const third = await post({ 'x-request-id': 'dup-1' });
  t.equal(third.headers['x-request-id'], 'dup-1', 'answered: the id can be used again');
});
