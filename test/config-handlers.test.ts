// Route handlers from outside the tree: a pipeline names a handler from a plugin
// package (its package.json "sgl-omni" field lists the *.handler.yaml), by path to
// its descriptor, or as package#name; the server imports that module and mounts
// it at the declared path. An unknown handler's error lists where it looked.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { ConfigError } from '../src/config/errors.js';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { fixtureStage } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'config-handlers-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

// A handler package as npm installs it: JavaScript, a descriptor, the "sgl-omni" field.
const pkg = path.join(dir, 'node_modules', 'json-handlers');
fs.mkdirSync(pkg, { recursive: true });
fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'json-handlers', type: 'module', 'sgl-omni': { handlers: ['json.handler.yaml'] } }));
fs.writeFileSync(path.join(pkg, 'json.handler.yaml'), YAML.stringify({
  name: 'json-echo',
  module: './json.js',
  description: 'POST a JSON object; it is the entry payload, and the final payload is the answer.',
  provides: { visited: { type: 'array' } },
  needs: {},
}));
fs.writeFileSync(path.join(pkg, 'json.js'), [
  'export default {',
  "  name: 'json-echo',",
  '  mount(app, { path, pipeline }) {',
  '    app.post(path, async (request) => ({ route: path, result: await pipeline.submit({ ...request.body, params: {} }, { id: request.id }) }));',
  '  },',
  '};',
].join('\n'));

const pipelineFile = (name: string, handler: string) => {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ name, routes: [{ path: '/v1/echo', handler }], entry: 'a', stages: { a: { plugin: fixtureStage('echo'), options: { tag: 'A' } } } }));
  return file;
};

for (const spec of ['json-handlers', 'json-handlers#json-echo', './node_modules/json-handlers/json.handler.yaml']) {
  t.test(`handler '${spec}' is found and serves its route`, async (t) => {
    const resolved = await loadPipelineConfig(pipelineFile('echo', spec));
    t.same(resolved.routes.map((r) => [r.path, r.handler, r.module]), [['/v1/echo', 'json-echo', path.join(pkg, 'json.js')]]);
    const pipeline = createPipeline(resolved);
    const app = await buildServer({ pipeline, servedModelNames: ['m'] });
    t.teardown(async () => {
      await app.close();
      await pipeline.close();
    });
    const res = await app.inject({ method: 'POST', url: '/v1/echo', payload: { visited: ['client'] } });
    t.equal(res.statusCode, 200, res.body);
    t.same(res.json().route, '/v1/echo');
    t.same(res.json().result.visited, ['client', 'A'], 'through the pipeline');
    t.equal((await app.inject({ method: 'POST', url: '/v1/audio/transcriptions' })).statusCode, 404, 'only the declared route');
  });
}

t.test('an unknown handler lists where it looked; a package member that does not exist lists what it has', async (t) => {
  const problem = async (spec: string) => {
    const err = await loadPipelineConfig(pipelineFile('bad', spec)).catch((e: unknown) => e);
    t.ok(err instanceof ConfigError);
    return (err as ConfigError).problems.find((p) => p.path === 'routes.0.handler')!.message;
  };
  const unknown = await problem('no-such-handlers');
  t.match(unknown, /^unknown handler 'no-such-handlers'\. Looked for:\n  a built-in handler \(\*\.handler\.yaml in .*\): .*features.*openai-transcription/);
  t.match(unknown, `a package named 'no-such-handlers' in: ${path.join(dir, 'node_modules')}, `);
  t.equal(await problem('json-handlers#nope'), `handler 'json-handlers#nope': ${path.join(pkg, 'package.json')} has no handler named 'nope' (it has: json-echo)`);
  t.match(await problem('./missing.handler.yaml'), `handler './missing.handler.yaml' resolves to ${path.join(dir, 'missing.handler.yaml')}, which does not exist`);
});
