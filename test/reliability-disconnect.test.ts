// Client disconnects with real workers and one admission slot: leaving while
// running (plain or streaming) cancels the work inside the worker (the stage
// logs the cancel) and frees the slot; leaving while waiting frees the waiting
// place; leaving mid-upload or stalling an upload never takes a slot, and the
// stalled upload ends with a 408 at the configured request timeout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { rawRequest } from './fixtures/server/raw-socket.js';
import { startScriptServer, type ScriptServer } from './fixtures/server/script-server.js';
import { FAKE_WAV, multipartBody } from './fixtures/server/scripted-pipeline.js';
import { waitFor } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-disconnect-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Items are held 60 s unless cancelled, so any item that ends during a test was cancelled. */
async function start(t: Test, admission: { max_running: number; max_waiting: number }, requestTimeoutMs?: number) {
  const cancelLog = path.join(dir, `${t.name.replace(/\W+/g, '-')}.log`);
  fs.writeFileSync(cancelLog, '');
  const server = await startScriptServer(t, {
    stage: { concurrency: 4, options: { hold_ms: 60_000, cancel_log: cancelLog } },
    pipeline: { admission: { ...admission, retry_after_s: 1 } },
    server: requestTimeoutMs ? { requestTimeoutMs } : {},
  });
  const cancelled = () => fs.readFileSync(cancelLog, 'utf8').split('\n').filter(Boolean);
  return { server, cancelled };
}

const stats = (server: ScriptServer) => server.pipeline.stats()[0];
const admission = (server: ScriptServer) => server.pipeline.admissionCounts!();
/** A request that needs the slot only for an instant: 200 when it got one, 503 when none was free. */
const quick = (server: ScriptServer) => server.transcribe({ prompt: 'hold:0' });

async function partialUpload(port: number, extraHeaders = '') {
  const { body, contentType } = await multipartBody({}, [{ bytes: new Uint8Array(256 * 1024), filename: 'a.wav' }]);
  const head = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n${extraHeaders}Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  return rawRequest(port, Buffer.concat([Buffer.from(head), body.subarray(0, body.length >> 1)]));
}

for (const stream of [false, true]) {
  t.test(`leaving mid-inference (${stream ? 'streaming' : 'plain'}) cancels the work in the worker and frees the slot`, async (t) => {
    const { server, cancelled } = await start(t, { max_running: 1, max_waiting: 0 });
    const client = new AbortController();
    const request = server.transcribe(stream ? { stream: 'true' } : {}, { signal: client.signal });
    if (stream) {
      const reader = (await request).body!.getReader();
      t.match(new TextDecoder().decode((await reader.read()).value), /"delta":"held"/, 'the stream started');
    } else {
      await waitFor(() => stats(server).running === 1);
    }
    t.equal((await quick(server)).status, 503, 'the only slot is taken');

    client.abort();
    await request.then((res) => res.body?.cancel()).catch(() => {});
    await waitFor(() => stats(server).running === 0);
    t.equal(cancelled().length, 1, 'the worker saw the cancel and stopped holding the item');
    t.same(admission(server), { running: 0, waiting: 0 }, 'the admission slot was released');
    t.equal((await quick(server)).status, 200, 'the slot is free again');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = (status: number) => Number(new RegExp(`sgl_omni_http_requests_total\\{method="POST",route="/v1/audio/transcriptions",status="${status}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    t.same([count(499), count(503), count(200)], [1, 1, 1], 'the request the client left is counted once, as 499');
  });
}

t.test('leaving while waiting for admission frees the waiting place', async (t) => {
  const { server, cancelled } = await start(t, { max_running: 1, max_waiting: 1 });
  const holder = new AbortController();
  const running = server.transcribe({}, { signal: holder.signal }).catch(() => undefined);
  await waitFor(() => stats(server).running === 1);
  const waiter = new AbortController();
  const waiting = server.transcribe({}, { signal: waiter.signal }).catch(() => undefined);
  await waitFor(() => admission(server).waiting === 1);
  t.equal((await quick(server)).status, 503, 'one running, one waiting: full');

  waiter.abort();
  await waiting;
  await waitFor(() => admission(server).waiting === 0);
  const next = quick(server);
  await waitFor(() => admission(server).waiting === 1);
  t.pass('the freed waiting place went to the next request');
  holder.abort();
  await running;
  t.equal((await next).status, 200, 'which ran once the holder left');
  t.equal(cancelled().length, 1, 'only the running item reached the worker');
  t.same(admission(server), { running: 0, waiting: 0 });
});

t.test('leaving mid-upload submits nothing and holds no slot', async (t) => {
  const { server } = await start(t, { max_running: 1, max_waiting: 0 });
  const upload = await partialUpload(server.port);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.same(admission(server), { running: 0, waiting: 0 }, 'an upload in progress holds no slot');
  upload.socket.destroy();
  await upload.reply;
  t.equal(stats(server).completed + stats(server).failed + stats(server).running, 0, 'nothing reached the stage');
  t.equal((await quick(server)).status, 200);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /sgl_omni_http_requests_total\{method="POST",route="\/v1\/audio\/transcriptions",status="499"\} 1\n/, 'counted as the client closing it (499)');
  t.notMatch(metrics, /status="400"/, 'not as a malformed request');
});

t.test('a stalled upload holds no slot and ends with 408 at the request timeout', async (t) => {
  const { server } = await start(t, { max_running: 1, max_waiting: 0 }, 500);
  const stalled = await partialUpload(server.port);
  t.equal((await quick(server)).status, 200, 'the stalled upload does not hold the only slot');
  const answer = await stalled.reply;
  t.match(answer, /^HTTP\/1\.1 408 Request Timeout\r\n/);
  t.same(JSON.parse(answer.split('\r\n\r\n')[1]), { error: { message: 'The request was not received in time (slow upload?).', type: 'invalid_request_error', param: null, code: 'request_timeout' } });
  t.equal((await quick(server)).status, 200, 'and the server keeps serving');
  t.equal(stats(server).completed, 2, 'only the two quick requests reached the stage');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /sgl_omni_http_requests_total\{method="POST",route="\/v1\/audio\/transcriptions",status="408"\} 1\n/, 'counted as the 408 it got');
  t.notMatch(metrics, /status="499"/, 'not as a client that left');
});
