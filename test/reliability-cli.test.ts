// The real `sgl-omni serve` process: SIGTERM refuses new work, finishes every
// accepted request and exits 0; a second SIGTERM or the shutdown deadline fails
// what is left with 503 and exits 1; --request-timeout-s and SGL_OMNI_API_KEY
// reach the server; a model that cannot load ends the process with 1; a busy
// port is one clear line and exit 1.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { incoming, startServe, type ServeProcess } from './fixtures/server/cli-process.js';
import { rawRequest } from './fixtures/server/raw-socket.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { multipartBody, FAKE_WAV } from './fixtures/server/scripted-pipeline.js';
import { fixtureStage } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-cli-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const TRANSCRIBE = '/v1/audio/transcriptions';

/** A pipeline of one transcribe-script stage holding each request `holdMs`, for `--pipeline`. */
function scriptPipelineFile(holdMs: number): string {
  const file = path.join(dir, `script-${holdMs}.yaml`);
  const doc = { name: 'script', routes: [TRANSCRIBE], entry: 'a', stages: { a: { plugin: fixtureStage('transcribe-script'), concurrency: 8, options: { hold_ms: holdMs } } } };
  fs.writeFileSync(file, YAML.stringify(doc));
  return file;
}

async function serve(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const server = await startServe(args, env);
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  return server;
}

const stageRunning = async (url: string) => Number(/^sgl_omni_stage_running\{stage="a"\} (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1]);

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Refusal of a new connection after shutdown began: connection refused, reset (it reached the
 *  backlog as the listener closed), or a 503 when it got in before; never served. */
const REFUSED = /^(ECONNREFUSED|ECONNRESET|HTTP 503)$/;

/** The answer to a request on a new connection. */
function refusal(url: string): Promise<string> {
  return new Promise((resolve) => {
    http
      .get(`${url}/health`, { agent: false }, (res) => {
        res.resume();
        resolve(`HTTP ${res.statusCode}`);
      })
      .on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

const tinyModel = path.join(dir, 'tiny');
await makeCheckpoint({ size: 'tiny', out: tinyModel, seed: 5 });

t.test('SIGTERM with requests in flight on the tiny checkpoint: all accepted finish with 200, new ones are refused, exit 0', async (t) => {
  // One request decodes at a time, so the later ones are still waiting when the signal comes.
  const server = await serve(t, ['--model-path', tinyModel, '--cache-dir', path.join(dir, 'cache'), '--stages.decoder.options.max_running', '1', '--admission.max_running', '1', '--stages.encoder.options.precision', 'fp32', '--stages.decoder.options.precision', 'fp32']);
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
  const expected = await (await fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm({ max_new_tokens: '800' }, wav) })).json();

  const count = 5;
  const requests = Array.from({ length: count }, () =>
    fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm({ max_new_tokens: '800' }, wav) }).then(async (res) => ({ status: res.status, body: await res.json() })),
  );
  await until(() => incoming(server.logs, 'POST', TRANSCRIBE) === count + 1);
  server.child.kill('SIGTERM');
  await server.waitForLog((l) => String(l.msg).startsWith('shutting down'));
  t.match(await refusal(server.url), REFUSED, 'a new request after SIGTERM is refused');

  const answers = await Promise.all(requests);
  t.same(answers.map((a) => a.status), Array(count).fill(200), 'every accepted request completed');
  t.ok(answers.every((a) => a.body.text === expected.text), 'with the full transcript');
  t.equal(await server.exited, 0, 'exit code 0');
  const signalled = server.logs.findIndex((l) => String(l.msg).startsWith('shutting down'));
  const finishedAfter = server.logs.slice(signalled).filter((l) => l.msg === 'request completed' && (l.res as { statusCode?: number }).statusCode === 200);
  t.ok(finishedAfter.length >= 1, `${finishedAfter.length} of the accepted requests finished after the signal`);
  t.notOk(server.logs.some((l) => l.msg === 'failing the requests still open with 503'), 'the drain finished before the deadline');
});

for (const how of ['second SIGTERM', 'deadline'] as const) {
  t.test(`shutdown forced by the ${how}: requests still open get 503, exit 1`, async (t) => {
    const args = ['--model-path', dir, '--pipeline', scriptPipelineFile(60_000)];
    const server = await serve(t, how === 'deadline' ? [...args, '--shutdown-timeout-s', '1'] : args);
    const requests = Array.from({ length: 3 }, () =>
      fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm() }).then(async (res) => ({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() })),
    );
    await until(async () => (await stageRunning(server.url)) === 3);
    server.child.kill('SIGTERM');
    await server.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    t.match(await refusal(server.url), REFUSED, 'a new request is refused');
    if (how === 'second SIGTERM') server.child.kill('SIGTERM');

    const answers = await Promise.all(requests);
    for (const answer of answers) {
      t.match(answer, { status: 503, body: { error: { code: 'shutting_down', type: 'server_error', message: 'server is shutting down' } } }, 'an open request was answered 503');
    }
    t.equal(await server.exited, 1, 'exit code 1');
    t.match(server.logs.find((l) => l.msg === 'failing the requests still open with 503'), { reason: how === 'deadline' ? 'shutdown deadline of 1 s passed' : 'second SIGTERM' });
  });
}

t.test('--request-timeout-s ends a stalled upload with 408; SGL_OMNI_API_KEY guards every route but /health', async (t) => {
  const server = await serve(t, ['--model-path', dir, '--pipeline', scriptPipelineFile(0), '--request-timeout-s', '1'], { SGL_OMNI_API_KEY: 'sk-env-key' });
  const { port } = new URL(server.url);
  const { body, contentType } = await multipartBody({}, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  const head = `POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-env-key\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`;
  const stalled = rawRequest(Number(port), Buffer.concat([Buffer.from(head), body.subarray(0, body.length >> 1)]));
  t.match(await stalled.reply, /^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"request_timeout"/, 'the stalled upload got 408 after 1 s');

  t.equal((await fetch(`${server.url}/health`)).status, 200, '/health needs no key');
  t.equal((await fetch(`${server.url}/v1/models`)).status, 401, '/v1/models does');
  const authorized = await fetch(`${server.url}${TRANSCRIBE}`, { method: 'POST', body: transcriptionForm(), headers: { authorization: 'Bearer sk-env-key' } });
  t.match(await authorized.json(), { text: /^held 12 bytes/ }, 'the slot the stalled upload never took serves the next request');
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});

t.test('a checkpoint without weights: the load error is logged and the process exits 1', async (t) => {
  const modelPath = path.join(dir, 'no-weights');
  fs.cpSync(path.join(dir, 'tiny'), modelPath, { recursive: true, filter: (file) => !file.endsWith('.safetensors') });
  const server = await serve(t, ['--model-path', modelPath, '--cache-dir', path.join(dir, 'cache-no-weights')]);
  t.equal(await server.exited, 1);
  t.match(server.logs.find((l) => l.msg === 'pipeline failed to load'), { err: { message: /^stage encoder failed to load: / } });
});

t.test('a port already in use: one clear line on stderr, exit 1, no stack and no native abort', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as net.AddressInfo;
  const cli = path.join(repoRoot(), 'bin', 'sgl-omni.js');
  const args = [cli, 'serve', '--model-path', tinyModel, '--cache-dir', path.join(dir, 'cache-busy'), '--port', String(port), '--host', '127.0.0.1'];
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { timeout: 60_000 }, (err, _stdout, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }));
  });
  t.equal(result.code, 1);
  t.equal(result.stderr, `sgl-omni: cannot listen: port ${port} is already in use on 127.0.0.1 (pick another with --port)\n`);
});
