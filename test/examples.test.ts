// The README's quickstart as a newcomer runs it, commands taken from README.md
// itself so the two cannot drift: "Without the real weights" (make-checkpoint,
// then serve), then the "Transcribe" curl and Python snippets and every example
// in examples/, each run from the repository root with the line as written.
// Two things differ, both checked to be in the text before they are replaced:
// the checkpoint folder (/tmp/qwen3-asr-tiny → a temp folder) and the port
// (8000 → a free one; examples get it as BASE_URL). HOME points into the temp
// folder, so the converted graphs do not land in the user's cache. Each snippet
// and example must get 200s and print what the server answers directly.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { followServe } from './fixtures/server/cli-process.js';

const run = promisify(execFile);
const root = repoRoot();
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The text under a `### title` heading, up to the next heading. */
function section(title: string): string {
  const start = readme.indexOf(`\n### ${title}\n`);
  if (start < 0) throw new Error(`README.md has no "### ${title}" section`);
  const rest = readme.slice(start + title.length + 6);
  return rest.slice(0, rest.search(/\n#{2,3} /) >>> 0);
}

/** The fenced code blocks of one language in `text`. */
const codeBlocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([^]*?)```', 'g'))].map((m) => m[1]);

/** Replaces `from` (which must be there) with `to` everywhere in `text`. */
function swap(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`README snippet no longer contains "${from}":\n${text}`);
  return text.split(from).join(to);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-quickstart-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, PYTHONIOENCODING: 'utf-8' };
delete env.SGL_OMNI_API_KEY;
delete env.BASE_URL;
delete env.MODEL;
const shell = (script: string, extraEnv: NodeJS.ProcessEnv = {}) =>
  run('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, env: { ...env, ...extraEnv }, timeout: 120_000, maxBuffer: 4 << 20 });

// ---- "Without the real weights": make-checkpoint, then serve -------------------------------
const [setup] = codeBlocks(section('Without the real weights'), 'sh');
const [makeLine, serveLine] = swap(setup, '/tmp/qwen3-asr-tiny', path.join(dir, 'tiny')).trim().split('\n');
if (!/^node bin\/sgl-omni\.js make-checkpoint /.test(makeLine) || !/^node bin\/sgl-omni\.js serve /.test(serveLine)) {
  throw new Error(`README's "Without the real weights" block is no longer make-checkpoint then serve:\n${setup}`);
}
await shell(makeLine);
const server = await followServe(spawn('bash', ['-c', `exec ${swap(serveLine, '--port 8000', '--port 0')}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] }));
t.teardown(async () => {
  server.child.kill('SIGTERM');
  await server.exited;
});
await server.waitForLog((l) => l.msg === 'pipeline loaded; serving', 120_000);
const port = new URL(server.url).port;
const base = `http://localhost:${port}`;
const MODEL = 'Qwen/Qwen3-ASR-1.7B';

/** What the server answers for `file` with these fields (status checked). */
async function direct(file: string, fields: Record<string, string>): Promise<string> {
  const form = new FormData();
  form.append('model', MODEL);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([fs.readFileSync(path.join(root, file))], { type: 'audio/wav' }), path.basename(file));
  const res = await fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  if (res.status !== 200) throw new Error(`direct request: ${res.status} ${await res.text()}`);
  return res.text();
}

// ---- "Transcribe": the reference document's curl and Python snippets ----------------------
const transcribe = section('Transcribe');
const [curlSnippet, exampleLines] = codeBlocks(transcribe, 'sh');
const [pythonSnippet] = codeBlocks(transcribe, 'python');
const QUERY_WAV = 'tests/data/query_to_cars.wav';
const queryJson = await direct(QUERY_WAV, { language: 'en', response_format: 'json' });

const hasProgram = (program: string, args: string[]) => run(program, args, { env }).then(() => true, () => false);
const python = await hasProgram('python3', ['--version']);
/** A skip reason when python3 or one of its modules is missing; false when it can run. */
async function pythonSkip(module: string): Promise<string | false> {
  if (!python) return 'python3 is not installed';
  return (await hasProgram('python3', ['-c', `import ${module}`])) ? false : `python3 module "${module}" is not installed (pip install ${module})`;
}

const JFK = 'test/fixtures/audio/jfk.wav';
const english = (JSON.parse(await direct(JFK, { language: 'en', response_format: 'json' })) as { text: string }).text;
const verbose = JSON.parse(await direct(JFK, { response_format: 'verbose_json' })) as { text: string; language: string };
const detected = verbose.text;
const srt = await direct(JFK, { response_format: 'srt' });
const exampleEnv = { BASE_URL: base };
// Everything awaited is awaited before the first subtest: tap ends the root test once its subtests are done.
const skips = {
  curl: !(await hasProgram('curl', ['--version'])) && 'curl is not installed',
  requests: await pythonSkip('requests'),
  openai: await pythonSkip('openai'),
};

t.test('README curl snippet: 200 with the transcript', { skip: skips.curl }, async (t) => {
  t.match(curlSnippet, `-F file=@${QUERY_WAV}`);
  // -w appends the status on its own line; the snippet itself is unchanged.
  const { stdout } = await shell(`${swap(curlSnippet, 'localhost:8000', `localhost:${port}`).trim()} -w '\\n%{http_code}'`);
  t.equal(stdout, `${queryJson}\n200`);
});

t.test('README Python snippet: 200 with the transcript', { skip: skips.requests }, async (t) => {
  const { stdout } = await run('python3', ['-c', swap(pythonSnippet, 'localhost:8000', `localhost:${port}`)], { cwd: root, env, timeout: 120_000 });
  t.equal(stdout, `${(JSON.parse(queryJson) as { text: string }).text}\n`);
});

// ---- every example in examples/, as the README lists them ---------------------------------
/** The README's line that runs `file`. */
function exampleLine(file: string): string {
  const line = exampleLines.split('\n').find((l) => l.includes(` examples/${file}`));
  if (!line) throw new Error(`README's Transcribe section does not run examples/${file}`);
  return line;
}

t.test('every client example (a file in examples/) is listed in the README', async (t) => {
  // Folders there (examples/plugins) are stage packages, documented in docs/PLUGINS.md.
  const files = fs.readdirSync(path.join(root, 'examples'), { withFileTypes: true }).filter((e) => e.isFile());
  for (const file of files) t.ok(exampleLine(file.name), file.name);
});

t.test('examples/curl.sh', { skip: skips.curl }, async (t) => {
  const { stdout } = await shell(exampleLine('curl.sh'), exampleEnv);
  t.match(stdout, `"id":"${MODEL}"`, 'lists the served model');
  t.match(stdout, `== json\n${JSON.stringify({ text: english, usage: { type: 'duration', seconds: 11 } })}\n`);
  t.match(stdout, `"segments":[{"id":0,"seek":0,"start":0,"end":11,"text":${JSON.stringify(detected)}`);
  t.match(stdout, `== srt subtitles\n${srt}`);
  t.match(stdout, `data: {"type":"transcript.text.done","text":${JSON.stringify(detected)},"usage":{"type":"duration","seconds":11}}\n\ndata: [DONE]`);
});

t.test('examples/node-openai.mjs', async (t) => {
  const { stdout } = await shell(exampleLine('node-openai.mjs'), exampleEnv);
  t.match(stdout, `json: ${english} { type: 'duration', seconds: 11 }\n`);
  t.match(stdout, `verbose_json: language=${verbose.language.toLowerCase()} duration=11s\n  [0.00-11.00] ${detected}\n`);
  t.match(stdout, `srt:\n${srt}`);
  t.match(stdout, /stream: [^]+\n\(done: 11 s of audio\)\n$/);
});

t.test('python examples compile', { skip: !python && 'python3 is not installed' }, async (t) => {
  // Parsed, not byte-compiled, so no __pycache__ lands in examples/.
  for (const name of ['python-requests.py', 'python-openai.py']) {
    await t.resolves(run('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', path.join(root, 'examples', name)], { env }), name);
  }
});

t.test('examples/python-requests.py', { skip: skips.requests }, async (t) => {
  const { stdout } = await shell(exampleLine('python-requests.py'), exampleEnv);
  t.match(stdout, `json: ${english}\n`);
  t.match(stdout, `  [0.00-11.00] ${detected}\n`);
  t.match(stdout, `vtt:\nWEBVTT\n\n00:00:00.000 --> 00:00:11.000\n`);
  t.match(stdout, /stream: [^]+\n\(done: 11 s of audio\)\n$/);
});

t.test('examples/python-openai.py', { skip: skips.openai }, async (t) => {
  const { stdout } = await shell(exampleLine('python-openai.py'), exampleEnv);
  t.match(stdout, `json: ${english}\n`);
  t.match(stdout, `  [0.00-11.00] `);
  t.match(stdout, `srt:\n${srt}`);
  t.match(stdout, /stream: [^]+\n\(done\)\n$/);
});
