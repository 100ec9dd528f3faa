// Issue 11, item 6: what the README promises on SIGTERM ("stops accepting, lets
// open requests finish for --shutdown-timeout-s, then answers the rest 503 and
// exits, 0 when all finished, 1 when cut off") for every state a connection can
// be in: idle keep-alive, a request head partly sent, a body still trickling in,
// a request in flight with a second one pipelined behind it, an SSE stream.
// At 5b77086 a partly sent head kept the process until the deadline + 2 s and
// made it exit 1, and a trickling upload was closed without an answer.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { startServe, type ServeProcess } from './fixtures/server/cli-process.js';
import { rawRequest } from './fixtures/server/raw-socket.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { FAKE_WAV, multipartBody } from './fixtures/server/scripted-pipeline.js';
import { fixtureStage } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-shutdown-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const TRANSCRIBE = '/v1/audio/transcriptions';

const pipelineFile = path.join(dir, 'script.yaml');
fs.writeFileSync(pipelineFile, YAML.stringify({ name: 'script', routes: [TRANSCRIBE], entry: 'a', stages: { a: { plugin: fixtureStage('transcribe-script'), concurrency: 8 } } }));

async function serve(t: Test, args: string[]): Promise<ServeProcess & { port: number }> {
  const server = await startServe(['--model-path', dir, '--pipeline', pipelineFile, ...args]);
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  return { ...server, port: Number(new URL(server.url).port) };
}

/** A whole request for the raw socket: FAKE_WAV with these fields. */
async function rawTranscription(fields: Record<string, string>, extraHeaders = ''): Promise<Buffer> {
  const { body, contentType } = await multipartBody(fields, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  return Buffer.concat([Buffer.from(`POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\n${extraHeaders}Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

/** Resolves once the socket has received `pattern`. */
function received(socket: net.Socket, pattern: RegExp): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (pattern.test(text)) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
  });
}

const stageRunning = async (url: string) => Number(/^sgl_omni_stage_running\{stage="a"\} (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

const SHUTTING_DOWN_503 = /^HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*"code":"shutting_down"/;

t.test('SIGTERM: idle and half-sent connections are closed at once (503 for a started head), the request in flight finishes, exit 0', async (t) => {
  const server = await serve(t, ['--shutdown-timeout-s', '60']);
  // A kept-alive connection that served one request, then began a second head.
  const keptAlive = rawRequest(server.port, await rawTranscription({}));
  await received(keptAlive.socket, /"text":"held \d+ bytes/);
  keptAlive.socket.write(`POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\n`);
  // A new connection that sent only the first line and Host of a POST.
  const halfHead = rawRequest(server.port, `POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\n`);
  // A connection that never sent a byte, and one idle after its request.
  const silent = rawRequest(server.port, '');
  const idle = rawRequest(server.port, await rawTranscription({}));
  await received(idle.socket, /"text":"held \d+ bytes/);
  // A request in flight, and a second one pipelined behind it after the signal.
  const inFlight = rawRequest(server.port, await rawTranscription({ prompt: 'hold:1500' }));
  const stream = await fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm({ stream: 'true', prompt: 'hold:1500' }) });
  const streamText = stream.text();
  await until(async () => (await stageRunning(server.url)) === 2);

  server.child.kill('SIGTERM');
  await server.waitForLog((l) => String(l.msg).startsWith('shutting down'));
  inFlight.socket.write(await rawTranscription({}));

  t.match(await halfHead.reply, SHUTTING_DOWN_503, 'a head half sent on a new connection: 503');
  t.match(await keptAlive.reply, /"text":"held[\s\S]*HTTP\/1\.1 503 Service Unavailable\r\n[\s\S]*"code":"shutting_down"/, 'a head half sent on a kept-alive connection: 503');
  t.equal(await silent.reply, '', 'a silent connection: closed');
  t.match(await idle.reply, /^HTTP\/1\.1 200 OK[\s\S]*"text":"held \d+ bytes[^]*$/, 'an idle kept-alive connection: closed after its answer');
  const pipelined = await inFlight.reply;
  t.match(pipelined, /^HTTP\/1\.1 200 OK\r\n[\s\S]*connection: close[\s\S]*"text":"held \d+ bytes/i, 'the request in flight finished with 200, Connection: close');
  // RFC 9112 9.6: after an answer with Connection: close the server processes nothing more on that
  // connection, and the client knows to send what it pipelined again elsewhere.
  t.equal(pipelined.match(/HTTP\/1\.1 /g)?.length, 1, 'the one pipelined after the signal is not processed (the close tells the client)');
  t.match(await streamText, /"type":"transcript\.text\.done"[\s\S]*data: \[DONE\]\n\n$/, 'the stream finished');
  t.equal(await server.exited, 0, 'exit 0: every accepted request finished');
  t.notOk(server.logs.some((l) => l.msg === 'failing the requests still open with 503'), 'before the deadline');
});

t.test('the deadline: a trickling upload, a held request and a stream are each answered 503, exit 1', async (t) => {
  const server = await serve(t, ['--shutdown-timeout-s', '1']);
  const whole = await rawTranscription({});
  const trickling = rawRequest(server.port, whole.subarray(0, whole.length - 20));
  const held = fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm({ prompt: 'hold:60000' }) }).then(async (res) => ({ status: res.status, body: await res.json() }));
  const stream = await fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm({ stream: 'true', prompt: 'hold:60000' }) });
  const streamText = stream.text();
  await until(async () => (await stageRunning(server.url)) === 2);

  server.child.kill('SIGTERM');
  // The rest of the body trickles in, a byte each 200 ms, through the deadline.
  let next = whole.length - 20;
  const drip = setInterval(() => next < whole.length && !trickling.socket.destroyed && trickling.socket.write(whole.subarray(next, ++next)), 200);
  t.teardown(() => clearInterval(drip));
  t.match(await trickling.reply, SHUTTING_DOWN_503, 'the upload still arriving: 503');
  t.match(await held, { status: 503, body: { error: { code: 'shutting_down' } } }, 'the held request: 503');
  t.match(await streamText, /data: \{"type":"error","error":\{[^}]*"code":"shutting_down"/, 'the stream: an error event');
  t.equal(await server.exited, 1, 'exit 1: work was cut off');
  t.match(server.logs.find((l) => l.msg === 'failing the requests still open with 503'), { answered: 1 });
  t.notOk(server.logs.some((l) => /already sent|reply.sent/.test(String(l.msg))), 'each request answered once');
});
