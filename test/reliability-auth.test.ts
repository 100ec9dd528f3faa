// Security over real sockets: the API key guards every route but /health
// (unknown ones included) before any upload is read, keys of any length or
// content are compared without failing; error bodies of 500s, redacted 503s and
// failed streams carry no path, stack or key; uploads stay in memory (no file
// appears in the temp folder or among the process's open files).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { PipelineError } from '../src/runtime/contracts.js';
import { buildServer } from '../src/server/app.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { fail, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';

// Set before anything asks os.tmpdir(), so any temp file the server made would land here.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reliability-auth-tmp-'));
process.env.TMPDIR = tmp;
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

const API_KEY = 'sk-reliability key/with+odd=chars';
const LEAKS = /\/opt\/models|\.onnx|\.js:\d+|\bat \S+ \(|TypeError|sk-reliability/;

const pipeline = new ScriptedPipeline();
const app = await buildServer({ pipeline, servedModelNames: ['m'], apiKey: API_KEY });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());
const authorized = { authorization: `Bearer ${API_KEY}` };

const ROUTES: { method: string; path: string; withKey: number }[] = [
  { method: 'GET', path: '/v1/models', withKey: 200 },
  { method: 'GET', path: '/v1/models/m', withKey: 200 },
  { method: 'GET', path: '/metrics', withKey: 200 },
  { method: 'POST', path: '/v1/audio/transcriptions', withKey: 200 },
  { method: 'POST', path: '/v1/audio/translations', withKey: 400 },
  { method: 'GET', path: '/no/such/route', withKey: 404 },
];

const send = (route: { method: string; path: string }, headers: Record<string, string> = {}) =>
  fetch(`${url}${route.path}`, { method: route.method, headers, body: route.method === 'POST' ? transcriptionForm() : undefined });

t.test('every route but /health needs the key; wrong keys of any length are a 401, never a 500', async (t) => {
  t.equal((await fetch(`${url}/health`)).status, 200, '/health needs no key');
  const wrongKeys = ['', 'x', API_KEY.slice(0, -1), `${API_KEY}x`, 'k'.repeat(8 * 1024), 'ключ-🔑'];
  for (const route of ROUTES) {
    const name = `${route.method} ${route.path}`;
    const missing = await send(route);
    t.equal(missing.status, 401, `${name} without a key`);
    t.equal(missing.headers.get('www-authenticate'), 'Bearer');
    t.same(await missing.json(), { error: { message: 'Missing API key: send it as "Authorization: Bearer <key>".', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    for (const key of wrongKeys) {
      const wrong = await send(route, { authorization: `Bearer ${encodeURIComponent(key)}` });
      t.equal(wrong.status, 401, `${name} with a wrong key of ${key.length} chars`);
      const body = await wrong.text();
      t.ok(!body.includes(API_KEY) && (key === '' || !body.includes(encodeURIComponent(key))), 'the body names neither key');
    }
    t.equal((await send(route, authorized)).status, route.withKey, `${name} with the key`);
  }
  t.equal(pipeline.submissions.length, 1, 'only the authorized upload reached the pipeline');
});

t.test('500s, redacted errors and failed streams carry no path, stack or key', async (t) => {
  const transcribe = (fields: Record<string, string> = {}) => fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: authorized, body: transcriptionForm(fields) });
  const cases: [string, () => Promise<never>, number][] = [
    ['a TypeError from a bug', async () => (null as unknown as { x: () => never }).x(), 500],
    ['a stage 500 naming a file', async () => { throw new PipelineError('ERR_STAGE_FAILED', 'onnxruntime: cannot open /opt/models/encoder.onnx', 'internal'); }, 500],
    ['a 503 naming a file', async () => { throw new PipelineError('ERR_STAGE_UNAVAILABLE', 'stage encoder failed to load: ENOENT /opt/models/encoder.onnx', 'unavailable'); }, 503],
    ['a result without text', async () => ({}) as never, 500],
  ];
  for (const [label, script, status] of cases) {
    pipeline.script = script;
    const res = await transcribe();
    const body = await res.text();
    t.equal(res.status, status, label);
    t.notMatch(body, LEAKS, `${label}: nothing to leak in ${body}`);
    if (status === 500) t.match(JSON.parse(body), { error: { message: /^The server had an error while processing your request \(request id [\w-]+\)\.$/, type: 'server_error' } });
  }
  pipeline.script = fail(new PipelineError('ERR_STAGE_FAILED', 'decoder died reading /opt/models/decoder.onnx', 'internal'), ['Hello']);
  const stream = await (await transcribe({ stream: 'true' })).text();
  t.match(stream, /"type":"error","error":\{"message":"The server had an error/, 'a stream that fails after it started ends with an error event');
  t.notMatch(stream, LEAKS);
});

t.test('uploads are held in memory: no temp file, no file opened while the request runs', async (t) => {
  const openFiles = () =>
    fs.readdirSync('/proc/self/fd').flatMap((fd) => {
      try {
        return [fs.readlinkSync(`/proc/self/fd/${fd}`)];
      } catch {
        return []; // closed since the listing
      }
    }).filter((target) => target.startsWith('/') && !target.startsWith('/dev/') && !target.startsWith('/proc/'));
  t.equal(os.tmpdir(), tmp);
  const before = new Set(openFiles());
  let seenDuring: string[] = [];
  let tmpDuring: string[] = [];
  pipeline.script = async () => {
    seenDuring = openFiles().filter((file) => !before.has(file));
    tmpDuring = fs.readdirSync(tmp);
    return { text: 'ok', duration: 1 };
  };
  const bytes = new Uint8Array(8 * 2 ** 20).map((_, i) => i * 31);
  const res = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: authorized, body: transcriptionForm({}, bytes) });
  t.equal(res.status, 200);
  const audio = pipeline.submissions.at(-1)!.input.audio as ArrayBuffer;
  t.ok(audio instanceof ArrayBuffer && Buffer.from(audio).equals(Buffer.from(bytes)), 'the pipeline got all 8 MiB, intact, in memory');
  t.same(seenDuring, [], 'no file was open while the upload was being handled');
  t.same(tmpDuring, [], 'nothing in the temp folder during the request');
  t.same(fs.readdirSync(tmp), [], 'nor after');
});
