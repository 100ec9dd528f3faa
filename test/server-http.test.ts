// Real sockets: fetch + FormData, incremental SSE, client disconnects mid-upload,
// mid-inference and mid-stream (each must abort the pipeline's signal), slow
// uploads hitting the request timeout, and shutdown with a request in flight.
import net from 'node:net';
import t, { type Test } from 'tap';
import type { Payload } from '../src/runtime/contracts.js';
import { buildServer, type BuildServerOptions } from '../src/server/app.js';
import { answer, CANNED_RESULT, FAKE_WAV, multipartBody, ScriptedPipeline, waitForAbort } from './fixtures/server/scripted-pipeline.js';
import { rawRequest } from './fixtures/server/raw-socket.js';

async function listen(t: Test, pipeline: ScriptedPipeline, extra: Partial<BuildServerOptions> = {}) {
  const app = await buildServer({ pipeline, servedModelNames: ['m'], ...extra });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as net.AddressInfo;
  return { app, port, url: `http://127.0.0.1:${port}` };
}

function audioForm(fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(FAKE_WAV)], { type: 'audio/wav' }), 'clip.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return form;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

t.test('fetch + FormData, every format', async (t) => {
  const pipeline = new ScriptedPipeline();
  const { url } = await listen(t, pipeline);
  const json = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ model: 'm', language: 'en' }) });
  t.equal(json.status, 200);
  t.same(await json.json(), { text: CANNED_RESULT.text, usage: { type: 'duration', seconds: 4 } });
  t.equal(pipeline.submissions[0].input.filename, 'clip.wav');
  const srt = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ response_format: 'srt' }) });
  t.match(await srt.text(), /^1\n00:00:00,000 --> 00:00:01,500\nHello world\.\n\n2\n/);
  const health = await fetch(`${url}/health`);
  t.same(await health.json(), { status: 'ok' });
});

t.test('SSE arrives while the pipeline still runs', async (t) => {
  let finish!: () => void;
  const gate = new Promise<void>((resolve) => (finish = resolve));
  const pipeline = new ScriptedPipeline(async (submission) => {
    submission.opts.onEvent?.({ type: 'delta', delta: 'Hello' });
    await gate;
    return CANNED_RESULT;
  });
  const { url } = await listen(t, pipeline);
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ stream: 'true' }) });
  t.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const first = decoder.decode((await reader.read()).value);
  t.equal(first, 'data: {"type":"transcript.text.delta","delta":"Hello"}\n\n', 'first delta before the result exists');
  finish();
  let rest = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
  t.match(rest, /"type":"transcript\.text\.done".*\n\ndata: \[DONE\]\n\n$/s);
});

t.test('client disconnect mid-inference aborts the signal', async (t) => {
  const pipeline = new ScriptedPipeline(waitForAbort());
  const { url } = await listen(t, pipeline);
  const client = new AbortController();
  const request = fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm(), signal: client.signal }).catch((err: Error) => err);
  await until(() => pipeline.submissions.length === 1);
  const aborted = pipeline.nextAbort();
  client.abort();
  await aborted;
  t.equal(pipeline.submissions[0].aborted, true);
  t.equal(((await request) as Error).name, 'AbortError');
  t.equal((await fetch(`${url}/health`)).status, 200, 'still serving');
});

t.test('client disconnect mid-stream aborts the signal', async (t) => {
  const pipeline = new ScriptedPipeline(waitForAbort(['Hello']));
  const { url } = await listen(t, pipeline);
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: audioForm({ stream: 'true' }) });
  const reader = res.body!.getReader();
  await reader.read();
  const aborted = pipeline.nextAbort();
  await reader.cancel();
  await aborted;
  t.equal(pipeline.submissions[0].aborted, true);
});

t.test('client disconnect mid-upload submits nothing and the server keeps answering', async (t) => {
  const pipeline = new ScriptedPipeline();
  const { url, port } = await listen(t, pipeline);
  const { body, contentType } = await multipartBody({}, [{ bytes: new Uint8Array(64 * 1024), filename: 'a.wav' }]);
  const head = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  const { socket, reply } = rawRequest(port, Buffer.concat([Buffer.from(head), body.subarray(0, 1000)]));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
  await reply;
  t.equal((await fetch(`${url}/health`)).status, 200);
  t.equal(pipeline.submissions.length, 0);
});

t.test('a slow upload hits the request timeout', async (t) => {
  const pipeline = new ScriptedPipeline();
  const { url, port } = await listen(t, pipeline, { requestTimeoutMs: 200 });
  const { body, contentType } = await multipartBody({}, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  const head = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  // Half the body, then silence: the server must give up rather than wait forever.
  const { reply } = rawRequest(port, Buffer.concat([Buffer.from(head), body.subarray(0, body.length >> 1)]));
  const answer = await reply;
  t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.same(JSON.parse(answer.split('\r\n\r\n')[1]), { error: { message: 'The request was not received in time (slow upload?).', type: 'invalid_request_error', param: null, code: 'request_timeout' } });
  t.equal(pipeline.submissions.length, 0);
  t.equal((await fetch(`${url}/health`)).status, 200);
});

t.test('malformed HTTP gets a 400 in the OpenAI shape', async (t) => {
  const { port } = await listen(t, new ScriptedPipeline());
  const answer = await rawRequest(port, 'GET / HTTP/1.1\r\nHost x\r\n\r\n').reply;
  t.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
  t.match(answer, /"code":"bad_http_request"/);
});

t.test('during shutdown: the accepted request finishes with Connection: close, nothing new starts', async (t) => {
  let finish!: (result: Payload) => void;
  const pipeline = new ScriptedPipeline(() => new Promise((resolve) => (finish = resolve)));
  const { app, port } = await listen(t, pipeline);
  const { body, contentType } = await multipartBody({}, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  const request = Buffer.concat([Buffer.from(`POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
  const { socket, reply } = rawRequest(port, request);
  await until(() => pipeline.submissions.length === 1);
  const closed = app.close();
  socket.write(request); // a second request on the kept-alive connection, after close began
  await new Promise((resolve) => setTimeout(resolve, 20));
  finish(CANNED_RESULT);
  const text = await reply;
  await closed;
  t.match(text, /^HTTP\/1\.1 200 [\s\S]*connection: close[\s\S]*"seconds":4\}\}$/i, 'the accepted request completed, and only it');
  t.equal(pipeline.submissions.length, 1, 'the late request never reached the pipeline');
});
