// `sgl-omni serve` flags a newcomer meets first, on the real CLI process: the
// default address is loopback; an address open to the network without an API
// key says so in one warn line; --log-level / SGL_OMNI_LOG_LEVEL choose what is
// written; help marks the required options and says what --cache-dir holds.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { repoRoot } from '../src/util/paths.js';
import { startServe, type ServeProcess } from './fixtures/server/cli-process.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { fixtureStage } from './fixtures/stages/pipeline-helper.js';

const run = promisify(execFile);
const cli = path.join(repoRoot(), 'bin/sgl-omni.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-serve-flags-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const pipelineFile = path.join(dir, 'script.yaml');
fs.writeFileSync(pipelineFile, YAML.stringify({ name: 'script', routes: ['/v1/audio/transcriptions'], entry: 'a', stages: { a: { plugin: fixtureStage('transcribe-script') } } }));
const scripted = ['--model-path', dir, '--pipeline', pipelineFile];
const WARNING = /without an API key: anyone who can reach this port can use the server/;

async function serve(t: Test, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const server = await startServe(args, { SGL_OMNI_API_KEY: undefined, ...env });
  t.teardown(() => {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  return server;
}

t.test('by default the server listens on loopback only and warns about nothing', async (t) => {
  const server = await serve(t, scripted);
  // Fastify logs one line per address it listens on: 0.0.0.0 would add one per interface.
  const listening = server.logs.filter((l) => String(l.msg).startsWith('Server listening at ')).map((l) => l.msg);
  t.same(listening, [`Server listening at ${server.url}`]);
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.notOk(server.logs.some((l) => l.level === 40), 'no warning');
});

t.test('an address open to the network without a key: one warn line naming it', async (t) => {
  const open = await serve(t, [...scripted, '--host', '0.0.0.0']);
  const warnings = open.logs.filter((l) => l.level === 40);
  t.equal(warnings.length, 1);
  t.match(warnings[0], { host: '0.0.0.0', msg: WARNING });
  const keyed = await serve(t, [...scripted, '--host', '0.0.0.0', '--api-key', 'sk-test']);
  t.notOk(keyed.logs.some((l) => l.level === 40), 'with a key, no warning');
});

t.test('--log-level info hides probes and arrivals; the flag wins over SGL_OMNI_LOG_LEVEL', async (t) => {
  // The fixture sets SGL_OMNI_LOG_LEVEL=debug: the flag must override it.
  const server = await serve(t, [...scripted, '--log-level', 'info']);
  for (let i = 0; i < 3; i++) t.equal((await fetch(`${server.url}/health`)).status, 200);
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: transcriptionForm() });
  t.equal(res.status, 200);
  const line = await server.waitForLog((l) => l.msg === 'request completed');
  t.match(line, { reqId: res.headers.get('x-request-id'), req: { method: 'POST', url: '/v1/audio/transcriptions' }, res: { statusCode: 200 } });
  t.same(server.logs.filter((l) => l.req !== undefined).map((l) => l.msg), ['request completed'], 'one line, for the transcription only');
});

t.test('SGL_OMNI_LOG_LEVEL alone sets the level; a bad level is refused with the choices', async (t) => {
  const server = await serve(t, scripted, { SGL_OMNI_LOG_LEVEL: 'debug' });
  await fetch(`${server.url}/health`);
  await server.waitForLog((l) => l.msg === 'request completed' && (l.req as { url: string }).url === '/health');
  const bad = await run(process.execPath, [cli, 'serve', ...scripted, '--log-level', 'loud']).then(() => null, (err: { code: number; stderr: string }) => err);
  t.equal(bad?.code, 1);
  t.match(bad?.stderr, /--log-level <level>' argument 'loud' is invalid. Allowed choices are trace, debug, info, warn, error, fatal, silent/);
});

t.test('help marks required options and says what --cache-dir holds', async (t) => {
  const make = (await run(process.execPath, [cli, 'make-checkpoint', '--help'])).stdout;
  t.match(make, /--size <size>[^]*\(required\)[^]*--out <dir>[^]*\(required\)/);
  t.notMatch(make, /--seed[^\n]*\(required\)/);
  for (const command of ['serve', 'convert']) {
    const help = (await run(process.execPath, [cli, command, '--help'])).stdout.replace(/\s+/g, ' ');
    t.match(help, /--cache-dir <dir> folder for converted ONNX graphs .*Hub downloads go to the Hugging Face cache/, command);
  }
});
