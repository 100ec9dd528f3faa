// A process started with V8 or process-wide flags (node --max-old-space-size=…, --expose-gc,
// --stack-trace-limit=…) runs its stage workers: Node refuses those flags in a Worker's execArgv,
// and passing them on crashed the server as its first stage started (worker-exec-argv.ts).
// Flags a worker takes still reach it; loaders and the code of -e do not.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { workerExecArgv } from '../src/runtime/worker-exec-argv.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const helper = pathToFileURL(path.join(here, 'fixtures/stages/pipeline-helper.js')).href;

// A child process: a two-stage pipeline of echo stages, one request through it, its trace printed.
const script = `
import { fixtureStage, loadTestPipeline } from ${JSON.stringify(helper)};
const { createPipeline } = await import(${JSON.stringify(pathToFileURL(path.join(here, '../src/runtime/pipeline.js')).href)});
const config = await loadTestPipeline({ name: 'argv', routes: ['/v1/audio/transcriptions'], entry: 'a', stages: { a: { plugin: fixtureStage('echo'), next: 'b', options: { tag: 'A' } }, b: { plugin: fixtureStage('echo'), options: { tag: 'B' } } } });
const pipeline = createPipeline(config);
await pipeline.ready();
const out = await pipeline.submit({ visited: [] });
await pipeline.close();
process.stdout.write(JSON.stringify({ visited: out.visited }));
`;

function run(flags: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-argv-'));
  const file = path.join(dir, 'main.mjs');
  fs.writeFileSync(file, script);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return new Promise((resolve) => {
    execFile(process.execPath, [...flags, file], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }));
  });
}

t.test('stage workers start under flags that Node refuses in a worker', async (t) => {
  const { code, stdout, stderr } = await run(['--max-old-space-size=4096', '--expose-gc', '--stack-trace-limit=50', '--no-deprecation']);
  t.equal(code, 0, stderr);
  t.same(JSON.parse(stdout).visited, ['A', 'B'], 'the request went through both stages');
});

t.test('workerExecArgv keeps what a worker takes and drops loaders with their values', async (t) => {
  const saved = process.execArgv;
  t.teardown(() => void Object.defineProperty(process, 'execArgv', { value: saved }));
  Object.defineProperty(process, 'execArgv', { value: ['--import', 'tsx', '--max-old-space-size=64', '--no-deprecation', '--conditions', 'dev', '-r', 'x.cjs', '--require=y.cjs', '-e', 'code()'], configurable: true });
  t.same(workerExecArgv(), ['--no-deprecation', '--conditions', 'dev'], 'flags with their values; loaders dropped');
});
