// Issue 17, configuration for containers: every `serve` flag, those a model folder's
// CLI module adds later included, reads SGL_OMNI_<FLAG> when the flag is absent (flags
// win); lists and booleans read by value; a bad value names its variable; the table in
// deploy/README.md is generated from the same definitions; and a real `serve` runs from
// variables alone, its pipeline YAML a mounted file named by SGL_OMNI_PIPELINE.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import t from 'tap';
import YAML from 'yaml';
import { EnvCommand, envDocsPath, renderEnvTable, withEnvTable } from '../src/cli-env.js';
import { buildProgram } from '../src/cli.js';
import { followServe } from './fixtures/server/cli-process.js';
import { transcriptionForm } from './fixtures/server/script-server.js';
import { fixtureStage } from './fixtures/stages/pipeline-helper.js';
import { spawn } from 'node:child_process';
import { repoRoot } from '../src/util/paths.js';

const serveOf = (program: Command) => program.commands.find((c) => c.name() === 'serve')!;

/** Parses `argv` with `env` as the environment; resolves with the options and where each came from. */
async function parse(command: EnvCommand, argv: string[], env: Record<string, string>): Promise<{ opts: Record<string, unknown>; sources: Record<string, string | undefined> } | { error: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let error = '';
  command.exitOverride().configureOutput({ writeErr: (text) => (error += text) });
  try {
    await command.parseAsync(argv, { from: 'user' });
    const opts = command.opts();
    return { opts, sources: Object.fromEntries(Object.keys(opts).map((k) => [k, command.getOptionValueSource(k)])) };
  } catch {
    return { error };
  } finally {
    for (const key of Object.keys(env)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

function toyCommand(): EnvCommand {
  const number = (v: string) => {
    if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
    return Number(v);
  };
  return new EnvCommand('serve')
    .option('--port <n>', 'port', number, 8000)
    .option('--pipeline <file>', 'repeatable', (v: string, prev: string[]) => [...prev, v], [])
    .option('--api-key <key>', 'key')
    .option('--verbose-probes', 'a boolean flag')
    .action(() => {}) as EnvCommand;
}

t.test('variables fill absent flags; flags win; lists split on commas; booleans read by value', async (t) => {
  const fromEnv = await parse(toyCommand(), [], { SGL_OMNI_PORT: '9001', SGL_OMNI_PIPELINE: '/etc/a.yaml, /etc/b.yaml', SGL_OMNI_API_KEY: 'sk-env', SGL_OMNI_VERBOSE_PROBES: 'false' });
  t.same(fromEnv, {
    opts: { port: 9001, pipeline: ['/etc/a.yaml', '/etc/b.yaml'], apiKey: 'sk-env', verboseProbes: false },
    sources: { port: 'env', pipeline: 'env', apiKey: 'env', verboseProbes: 'env' },
  });
  const flagsWin = await parse(toyCommand(), ['--port', '7000', '--pipeline', '/x.yaml', '--verbose-probes'], { SGL_OMNI_PORT: '9001', SGL_OMNI_PIPELINE: '/etc/a.yaml', SGL_OMNI_VERBOSE_PROBES: 'false' });
  t.same(flagsWin, { opts: { port: 7000, pipeline: ['/x.yaml'], verboseProbes: true }, sources: { port: 'cli', pipeline: 'cli', verboseProbes: 'cli' } });
  const defaults = await parse(toyCommand(), [], {});
  t.same(defaults, { opts: { port: 8000, pipeline: [] }, sources: { port: 'default', pipeline: 'default' } });
  t.same(await parse(toyCommand(), [], { SGL_OMNI_VERBOSE_PROBES: 'on' }), { opts: { port: 8000, pipeline: [], verboseProbes: true }, sources: { port: 'default', pipeline: 'default', verboseProbes: 'env' } });
});

t.test('a bad value says which variable it came from', async (t) => {
  t.match(await parse(toyCommand(), [], { SGL_OMNI_PORT: 'eighty' }), { error: /option '--port <n>' value 'eighty' from env 'SGL_OMNI_PORT' is invalid\. expected a whole number/ });
  t.match(await parse(toyCommand(), [], { SGL_OMNI_VERBOSE_PROBES: 'maybe' }), { error: /from env 'SGL_OMNI_VERBOSE_PROBES' is invalid\. Expected true or false/ });
});

t.test('a flag added after the command was built (a model folder\'s CLI module) reads its variable too', async (t) => {
  const program = new Command('sgl-omni');
  program.addCommand(toyCommand());
  // What a registerCommands(program) in a model folder can do.
  serveOf(program).option('--aligner-path <dir>', 'added by a plugin');
  const parsed = await parse(serveOf(program) as EnvCommand, [], { SGL_OMNI_ALIGNER_PATH: '/models/aligner' });
  t.match(parsed, { opts: { alignerPath: '/models/aligner' }, sources: { alignerPath: 'env' } });
});

t.test('every option of the real serve command has its SGL_OMNI_ variable, and deploy/README.md lists them all', async (t) => {
  const serve = serveOf(await buildProgram());
  const options = serve.options.filter((o) => o.long !== '--help');
  t.ok(options.length >= 12, `${options.length} options`);
  for (const option of options) t.equal(option.envVar, `SGL_OMNI_${option.long!.slice(2).replace(/-/g, '_').toUpperCase()}`, option.flags);
  const readme = fs.readFileSync(envDocsPath(), 'utf8');
  t.equal(readme, withEnvTable(readme, renderEnvTable(serve)), 'regenerate: npm run build && node dist/src/cli-env.js --write');
  for (const option of options) t.match(readme, `\`${option.envVar}\``);
});

t.test('serve from variables alone: model, mounted pipeline file, port, host, key and shutdown delay', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-serve-env-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A pipeline mounted as a file (a ConfigMap in Kubernetes), named only by the variable.
  const mounted = path.join(dir, 'config', 'pipeline.yaml');
  fs.mkdirSync(path.dirname(mounted));
  fs.writeFileSync(mounted, YAML.stringify({ name: 'mounted', routes: ['/v1/audio/transcriptions'], entry: 'a', stages: { a: { plugin: fixtureStage('transcribe-script') } } }));
  const child = spawn(process.execPath, [path.join(repoRoot(), 'bin/sgl-omni.js'), 'serve'], {
    env: { ...process.env, SGL_OMNI_MODEL_PATH: dir, SGL_OMNI_PIPELINE: mounted, SGL_OMNI_PORT: '0', SGL_OMNI_HOST: '127.0.0.1', SGL_OMNI_API_KEY: 'sk-env', SGL_OMNI_SHUTDOWN_DELAY_S: '0', SGL_OMNI_SERVED_MODEL_NAME: 'asr,asr-alias', SGL_OMNI_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server = await followServe(child);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await server.waitForLog((l) => l.msg === 'pipeline loaded; serving');
  t.match(server.logs.find((l) => l.msg === 'starting pipeline'), { pipeline: 'mounted', file: mounted, modelPath: dir });
  t.equal((await fetch(`${server.url}/v1/models`)).status, 401, 'the key from SGL_OMNI_API_KEY is required');
  const models = await (await fetch(`${server.url}/v1/models`, { headers: { authorization: 'Bearer sk-env' } })).json() as { data: { id: string }[] };
  t.same(models.data.map((m) => m.id), ['asr', 'asr-alias'], 'SGL_OMNI_SERVED_MODEL_NAME is a comma-separated list');
  const res = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: 'Bearer sk-env' }, body: transcriptionForm({ model: 'asr' }) });
  t.equal(res.status, 200);
  child.kill('SIGTERM');
  t.equal(await server.exited, 0);
});
