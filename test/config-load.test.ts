// Pipeline config loading: defaults, overrides, and errors that name file, line and path.
import path from 'node:path';
import t from 'tap';
import { builtinCatalogue } from '../src/config/discovery.js';
import YAML from 'yaml';
import { ConfigError, explainPipelineConfig, loadPipelineConfig } from '../src/config/index.js';
import { compiledPath, repoRoot } from '../src/util/paths.js';

const fixture = (name: string) => path.join(repoRoot(), 'test', 'fixtures', 'pipelines', name);

async function loadError(file: string, overrides?: [string, string][]): Promise<ConfigError> {
  try {
    await loadPipelineConfig(file, { overrides });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`${file} loaded without error`);
}

t.test('fills defaults and resolves plugins relative to the file', async (t) => {
  const resolved = await loadPipelineConfig(fixture('three-echo.yaml'));
  t.same(resolved.stages.map((s) => s.name), ['a', 'b', 'c']);
  t.equal(resolved.stages[0].module, compiledPath('test/fixtures/stages/echo-stage.ts'));
  t.same(resolved.config.admission, { max_running: 32, max_waiting: 64, retry_after_s: 1 });
  t.equal(resolved.config.drain_timeout_s, 30);
  const a = resolved.config.stages.a;
  t.same([a.workers, a.threads, a.device, a.concurrency, a.batch.max_size, a.queue.max], [1, 1, 'cpu', 1, 1, 64]);
  t.same(resolved.config.stages.b.batch, { max_size: 4 });
  t.same(resolved.config.stages.c.options, { tag: 'C' });
});

t.test('plugin option defaults come from the plugin schema', async (t) => {
  const resolved = await loadPipelineConfig(fixture('three-echo.yaml'), { overrides: [['stages.c.options', '{}']] });
  t.same(resolved.config.stages.c.options, { tag: 'echo' });
});

t.test('dotted overrides apply before validation, values parsed as YAML', async (t) => {
  const resolved = await loadPipelineConfig(fixture('three-echo.yaml'), {
    overrides: [['stages.b.workers', '3'], ['stages.a.device', 'cuda:1'], ['admission.max_running', '4']],
  });
  t.equal(resolved.config.stages.b.workers, 3);
  t.equal(resolved.config.stages.a.device, 'cuda:1');
  t.equal(resolved.config.admission.max_running, 4);

  const bad = await loadError(fixture('three-echo.yaml'), [['stages.b.workers', '0']]);
  t.match(bad.message, /stages\.b\.workers: must be >= 1 \(got 0\) \(from override --stages\.b\.workers 0\)/);
  const typo = await loadError(fixture('three-echo.yaml'), [['stages.bb.workers', '2']]);
  t.match(typo.message, /stages\.bb\.workers: no stage named 'bb' in the file/);
});

t.test('invalid YAML names file and line', async (t) => {
  const err = await loadError(fixture('bad-yaml.yaml'));
  t.equal(err.code, 'ERR_PIPELINE_CONFIG');
  t.match(err.message, new RegExp(`^${fixture('bad-yaml.yaml')}:\\d+:\\d+: \\(root\\): invalid YAML`));
});

t.test('schema violations name each path, its line and what was expected', async (t) => {
  const file = fixture('bad-schema.yaml');
  const err = await loadError(file);
  const byPath = new Map(err.problems.map((p) => [p.path, p]));
  t.match(byPath.get('stages.a.workers'), { line: 7, message: 'must be >= 1 (got 0)' });
  t.match(byPath.get('stages.a.worker'), { line: 8, message: /^unknown field \(expected one of: plugin, next, workers/ });
  t.match(byPath.get('stages.a.device'), { line: 9, message: /must match pattern "\^\(cpu\|cuda:\[0-9\]\+\)\$" \(got "gpu"\)/ });
  t.match(byPath.get('stages.b.plugin'), { line: 10, message: 'required field is missing' });
  t.match(err.message, `${file}:7:5: stages.a.workers: must be >= 1 (got 0)`);
});

t.test('graph errors: unknown next, cycles, unreachable stages', async (t) => {
  const graph = await loadError(fixture('bad-graph.yaml'));
  t.match(graph.problems, [{ path: 'stages.b.next', line: 6, message: "no stage named 'nowhere' (stages: a, b)" }]);
  const cycle = await loadError(fixture('cycle.yaml'));
  t.match(cycle.problems, [{ path: 'stages.b.next', message: 'makes a cycle: a → b → a (the last stage must have no next)' }]);
  const orphan = await loadError(fixture('unreachable.yaml'));
  t.match(orphan.problems, [{ path: 'stages.orphan', line: 6, message: "unreachable from entry 'a' (graph: a)" }]);
  const entry = await loadError(fixture('three-echo.yaml'), [['entry', 'z']]);
  t.match(entry.problems, [{ path: 'entry', message: "no stage named 'z' (stages: a, b, c)", override: '--entry z' }]);
});

t.test('plugin errors: unknown name (listing where it looked), options failing the plugin schema, a package that is no plugin', async (t) => {
  const err = await loadError(fixture('bad-plugins.yaml'));
  const byPath = new Map(err.problems.map((p) => [p.path, p]));
  const unknown = byPath.get('stages.a.plugin')!;
  t.match(unknown, { line: 5, col: 8, message: /^unknown plugin 'no-such\/stage'\. Looked for:\n/ });
  t.match(unknown.message, `*.plugin.yaml in ${path.join(repoRoot(), 'stages', 'audio')}`, 'names the built-in folders');
  t.match(unknown.message, `: ${[...builtinCatalogue().plugins.keys()].join(', ')}\n`, 'lists the built-in names');
  t.match(unknown.message, /: audio\/decode, audio\/resample, audio\/whisper-mel, /, 'those of stages/audio first');
  t.match(unknown.message, `in: ${path.join(repoRoot(), 'test', 'fixtures', 'pipelines', 'node_modules')}, `, 'names the node_modules folders, the pipeline file\'s first');
  t.match(byPath.get('stages.b.options.tag'), { message: 'must be string (got 5)' });
  t.match(byPath.get('stages.b.options.colour'), { message: 'unknown field (expected one of: tag)' });
  t.match(byPath.get('stages.c.plugin'), { line: 7, message: `package 'yaml' (${path.join(repoRoot(), 'node_modules', 'yaml')}) is not an sgl-omni plugin package: its package.json has no "sgl-omni" field` });
});

t.test('missing file is a config error', async (t) => {
  const err = await loadError(fixture('does-not-exist.yaml'));
  t.match(err.message, /does-not-exist\.yaml: \(root\): cannot read file \(ENOENT\)/);
});

t.test('explain prints the resolved config, which loads back to the same config', async (t) => {
  const resolved = await loadPipelineConfig(fixture('three-echo.yaml'));
  const text = explainPipelineConfig(resolved);
  t.match(text, `#   a: ${resolved.stages[0].module} (no descriptor: payload unchecked)`);
  t.same(YAML.parse(text), { ...resolved.config, routes: [{ path: '/v1/audio/transcriptions', handler: 'openai-transcription' }] }, 'routes with their handlers');
  const again = await loadPipelineConfig(fixture('three-echo.yaml'));
  t.same(again.config, resolved.config);
});
