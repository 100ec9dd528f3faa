// The bench/ scripts' command lines: --help prints the usage and exits 0 before
// any work (espeak.js used to build its dataset when asked for help), and an
// unknown flag is its error plus the usage, exit 2, not a stack trace.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';

const run = promisify(execFile);
const SCRIPTS = ['datasets/espeak', 'datasets/librivox', 'soak', 'concurrency', 'frontend', 'aligner', 'aligner-beside', 'rolling-restart', 'hostile', 'decode-memory', 'realtime-reuse', 'conv-stem', 'model'];
// Relative default output folders land in the working directory: run there, empty, and check it stays so.
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-help-'));
t.teardown(() => fs.rmSync(cwd, { recursive: true, force: true }));

for (const script of SCRIPTS) {
  const file = path.join(repoRoot(), 'dist', 'bench', `${script}.js`);
  t.test(`bench/${script}`, async (t) => {
    const help = await run(process.execPath, [file, '--help'], { cwd, timeout: 30_000 });
    t.match(help.stdout, new RegExp(`^Usage: node dist/bench/${script}\\.js `), 'usage on stdout, exit 0');
    t.same(fs.readdirSync(cwd), [], 'nothing built or written');
    const bad = await run(process.execPath, [file, '--no-such-flag'], { cwd, timeout: 30_000 }).then(() => null, (err: { code: number; stderr: string }) => err);
    t.equal(bad?.code, 2);
    t.match(bad?.stderr, /^Unknown option '--no-such-flag'[^]*\nUsage: /);
    t.notMatch(bad?.stderr, /\n\s+at /, 'no stack trace');
  });
}

// key=value pipeline overrides (bench/args.ts pipelineOverrides): one without '=' is a usage error before any work.
for (const script of ['concurrency', 'realtime']) {
  t.test(`bench/${script}: a pipeline override without '=' exits 2 before any work`, async (t) => {
    const file = path.join(repoRoot(), 'dist', 'bench', `${script}.js`);
    const bad = await run(process.execPath, [file, 'stages.decoder.options.max_running'], { cwd, timeout: 30_000 }).then(() => null, (err: { code: number; stdout: string; stderr: string }) => err);
    t.equal(bad?.code, 2);
    t.match(bad?.stderr, /^'stages\.decoder\.options\.max_running' is not a pipeline override \(key=value\)\nUsage: /);
    t.equal(bad?.stdout, '', 'nothing measured or printed');
  });
}
