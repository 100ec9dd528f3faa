// The sgl-omni binary end to end: exit codes and messages of config check/explain and usage errors.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { repoRoot } from '../src/util/paths.js';

const bin = path.join(repoRoot(), 'bin', 'sgl-omni.js');
const fixture = (name: string) => path.join(repoRoot(), 'test', 'fixtures', 'pipelines', name);

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, SGL_OMNI_API_KEY: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('config check accepts a good file and names its graph', async (t) => {
  const r = cli('config', 'check', fixture('three-echo.yaml'));
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `${fixture('three-echo.yaml')}: ok (pipeline three-echo: a → b → c)\n`);
});

t.test('config check rejects a bad file with file:line: path: expectation, exit 1', async (t) => {
  const r = cli('config', 'check', fixture('bad-schema.yaml'));
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  t.match(r.stderr, `sgl-omni: ${fixture('bad-schema.yaml')}:7:5: stages.a.workers: must be >= 1 (got 0)`);
  t.match(r.stderr, `${fixture('bad-schema.yaml')}:10:3: stages.b.plugin: required field is missing`);
});

t.test('dotted overrides reach check and explain', async (t) => {
  const bad = cli('config', 'check', fixture('three-echo.yaml'), '--stages.b.workers', '0');
  t.equal(bad.code, 1);
  t.match(bad.stderr, 'stages.b.workers: must be >= 1 (got 0) (from override --stages.b.workers 0)');
  const explained = cli('config', 'explain', fixture('three-echo.yaml'), '--stages.b.workers=3', '--admission.max_waiting', '5');
  t.equal(explained.code, 0, explained.stderr);
  const config = YAML.parse(explained.stdout);
  t.equal(config.stages.b.workers, 3);
  t.equal(config.admission.max_waiting, 5);
  t.equal(config.stages.a.queue.max, 64, 'defaults are filled in');
});

t.test('usage errors exit non-zero with a message', async (t) => {
  const unknown = cli('config', 'check', fixture('three-echo.yaml'), '--verbose');
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, "unknown option '--verbose' (config overrides look like --stages.decoder.workers 2)");
  const missing = cli('config', 'check');
  t.equal(missing.code, 1);
  t.match(missing.stderr, "missing required argument 'file'");
  const noModel = cli('serve');
  t.equal(noModel.code, 1);
  t.match(noModel.stderr, 'give --model-path (the pipeline is chosen from its config.json), or --pipeline FILE');
});

t.test('--help lists serve, config and extension commands', async (t) => {
  const r = cli('--help');
  t.equal(r.code, 0);
  t.match(r.stdout, /serve \[options\]/);
  t.match(r.stdout, /config/);
  t.match(r.stdout, /bench \[options\]/, 'bench comes from src/eval/cli.ts, registered by src/cli.ts');
});
