// Issue 17, readiness that drains correctly, on the real `sgl-omni serve` process:
// liveness, startup and readiness are separate probes open without the key; readiness
// fails while admission is full (sgl_omni_requests_waiting shows the queue); on SIGTERM
// readiness fails FIRST while requests are still served for --shutdown-delay-s (so a
// balancer stops routing here), then the drain refuses new work, lets the open request
// finish, and exits 0.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { startServe, type ServeProcess } from './fixtures/server/cli-process.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { fixtureStage, waitFor } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-probes-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const pipelineFile = path.join(dir, 'held.yaml');
// One request runs, one waits: the second makes admission full.
fs.writeFileSync(pipelineFile, YAML.stringify({ name: 'held', routes: ['/v1/audio/transcriptions'], entry: 'a', admission: { max_running: 1, max_waiting: 1 }, stages: { a: { plugin: fixtureStage('transcribe-script'), concurrency: 1 } } }));
const KEY = 'sk-probes';
const auth = { authorization: `Bearer ${KEY}` };

async function serve(args: string[]): Promise<ServeProcess> {
  const server = await startServe(['--model-path', dir, '--pipeline', pipelineFile, ...args], { SGL_OMNI_API_KEY: KEY });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  return server;
}

const probe = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as { status: string } };
};
const transcribe = (url: string, prompt: string, signal?: AbortSignal) =>
  fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: auth, body: transcriptionForm({ prompt }), signal });
const gauge = async (url: string, name: string) => {
  const text = await (await fetch(`${url}/metrics`, { headers: auth })).text();
  return Number(new RegExp(`^sgl_omni_${name}\\{pipeline="held"\\} (\\d+)$`, 'm').exec(text)?.[1]);
};

t.test('probes: live, started, ready, open without the key; readiness fails while admission is full', async (t) => {
  const server = await serve([]);
  t.same(await probe(`${server.url}/livez`), { status: 200, body: { status: 'alive' } });
  t.same(await probe(`${server.url}/startupz`), { status: 200, body: { status: 'started' } });
  t.same(await probe(`${server.url}/readyz`), { status: 200, body: { status: 'ready' } });
  t.equal(await gauge(server.url, 'requests_waiting'), 0);

  const stop = new AbortController();
  const running = transcribe(server.url, 'hold:60000', stop.signal).catch(() => undefined);
  await waitFor(() => server.logs.some((l) => l.msg === 'incoming request' && (l.req as { url?: string }).url === '/v1/audio/transcriptions'));
  const waiting = transcribe(server.url, 'hold:60000', stop.signal).catch(() => undefined);
  // Wait on the queue itself, read from the gauge a KEDA trigger reads.
  const deadline = Date.now() + 10_000;
  while ((await gauge(server.url, 'requests_waiting')) !== 1 && Date.now() < deadline);
  t.equal(await gauge(server.url, 'requests_running'), 1, 'one request running');
  t.equal(await gauge(server.url, 'requests_waiting'), 1, 'one waiting for admission');
  t.match(await probe(`${server.url}/readyz`), { status: 503, body: { status: 'saturated' } }, 'a full waiting room: send the next request elsewhere');
  t.same(await probe(`${server.url}/livez`), { status: 200, body: { status: 'alive' } }, 'alive all the same: no restart');
  stop.abort();
  await Promise.all([running, waiting]);
  while ((await gauge(server.url, 'requests_running')) !== 0 && Date.now() < deadline);
  t.same(await probe(`${server.url}/readyz`), { status: 200, body: { status: 'ready' } }, 'ready again once the queue emptied');
});

t.test('SIGTERM: readiness fails first, requests still routed here are served for the delay, then the drain; exit 0', async (t) => {
  const server = await serve(['--shutdown-delay-s', '4', '--shutdown-timeout-s', '60']);
  // Open across the whole shutdown: it must finish with 200.
  const inFlight = transcribe(server.url, 'hold:7000');
  await waitFor(() => server.logs.some((l) => l.msg === 'incoming request' && (l.req as { url?: string }).url === '/v1/audio/transcriptions'));
  server.child.kill('SIGTERM');
  await server.waitForLog((l) => l.msg === 'readiness fails; still serving until the balancers notice');
  t.match(await probe(`${server.url}/readyz`), { status: 503, body: { status: 'draining' } }, 'readiness fails at once');
  t.same(await probe(`${server.url}/livez`), { status: 200, body: { status: 'alive' } }, 'liveness holds: the process is fine');
  // A request the balancer routed before it noticed: served, not refused.
  const routed = await transcribe(server.url, 'hold:0');
  t.equal(routed.status, 200, 'a request arriving during the delay is served');
  await server.waitForLog((l) => l.msg === 'pre-drain delay over: refusing new requests, finishing the open ones', 15_000);
  const late = await transcribe(server.url, 'hold:0').then((res) => res.status, () => 0);
  t.ok(late === 503 || late === 0, `after the delay a new request is refused (${late === 0 ? 'connection closed' : '503'})`);
  t.equal((await inFlight).status, 200, 'the request in flight since before the signal finished');
  t.equal(await server.exited, 0);
});

t.test('a second SIGTERM during the delay stops at once: the open request gets 503, exit 1', async (t) => {
  const server = await serve(['--shutdown-delay-s', '600']);
  const open = transcribe(server.url, 'hold:60000');
  await waitFor(() => server.logs.some((l) => l.msg === 'incoming request' && (l.req as { url?: string }).url === '/v1/audio/transcriptions'));
  server.child.kill('SIGTERM');
  await server.waitForLog((l) => l.msg === 'readiness fails; still serving until the balancers notice');
  server.child.kill('SIGTERM');
  t.equal((await open).status, 503, 'cut off with 503, not left hanging for the 600 s delay');
  t.equal(await server.exited, 1);
  t.notOk(server.logs.some((l) => l.msg === 'pre-drain delay over: refusing new requests, finishing the open ones'), 'the delay did not run out');
});
