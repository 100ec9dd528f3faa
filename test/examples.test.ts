// The client examples in examples/, run as written against the tiny-checkpoint
// server (BASE_URL and MODEL point them at it): each must exit 0 and print the
// transcripts the pipeline gives for jfk.wav. Python examples run where their
// packages are installed, and are at least compiled everywhere python3 exists.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const run = promisify(execFile);
const examples = path.join(repoRoot(), 'examples');
const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));

const server = await startTinyServer();
t.teardown(() => server.close());
const env: NodeJS.ProcessEnv = { ...process.env, BASE_URL: server.base, MODEL: TINY_MODEL_NAME, PYTHONIOENCODING: 'utf-8' };
delete env.SGL_OMNI_API_KEY;

/** What the pipeline gives for jfk.wav with these params. */
async function transcribe(params: Record<string, unknown> = {}): Promise<{ text: string; language: string }> {
  const audio = wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength);
  const out = await server.pipeline.submit({ audio, filename: 'jfk.wav', contentType: 'audio/wav', params: { temperature: 0, stream: false, response_format: 'json', ...params } });
  return out as { text: string; language: string };
}
const english = (await transcribe({ language: 'en' })).text;
const { text: detected, language } = await transcribe();
const srt = `1\n00:00:00,000 --> 00:00:11,000\n${detected.trim()}\n\n`;

/** Runs an example from the repository root; resolves with its stdout once it exited 0. */
async function runExample(file: string, args: string[]): Promise<string> {
  const { stdout } = await run(file, args, { cwd: repoRoot(), env, timeout: 60_000, maxBuffer: 4 << 20 });
  return stdout;
}

const hasProgram = (program: string, args: string[]) => run(program, args, { env }).then(() => true, () => false);

t.test('examples/curl.sh', { skip: !(await hasProgram('curl', ['--version'])) && 'curl is not installed' }, async (t) => {
  const out = await runExample('bash', [path.join(examples, 'curl.sh')]);
  t.match(out, `"id":"${TINY_MODEL_NAME}"`, 'lists the served model');
  t.match(out, `== json\n${JSON.stringify({ text: english, usage: { type: 'duration', seconds: 11 } })}\n`);
  t.match(out, `"segments":[{"id":0,"seek":0,"start":0,"end":11,"text":${JSON.stringify(detected)}`);
  t.match(out, `== srt subtitles\n${srt}`);
  t.match(out, `data: {"type":"transcript.text.done","text":${JSON.stringify(detected)},"usage":{"type":"duration","seconds":11}}\n\ndata: [DONE]`);
});

t.test('examples/node-openai.mjs', async (t) => {
  const out = await runExample(process.execPath, [path.join(examples, 'node-openai.mjs')]);
  t.match(out, `json: ${english} { type: 'duration', seconds: 11 }\n`);
  t.match(out, `verbose_json: language=${language.toLowerCase()} duration=11s\n  [0.00-11.00] ${detected}\n`);
  t.match(out, `srt:\n${srt}`);
  t.match(out, /stream: [^]+\n\(done: 11 s of audio\)\n$/);
});

const python = await hasProgram('python3', ['--version']);
const hasModule = (name: string) => python && hasProgram('python3', ['-c', `import ${name}`]);

t.test('python examples compile', { skip: !python && 'python3 is not installed' }, async (t) => {
  // Parsed, not byte-compiled, so no __pycache__ lands in examples/.
  for (const name of ['python-requests.py', 'python-openai.py']) {
    await t.resolves(run('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', path.join(examples, name)], { env }), name);
  }
});

t.test('examples/python-requests.py', { skip: !(await hasModule('requests')) && 'python3 requests is not installed' }, async (t) => {
  const out = await runExample('python3', [path.join(examples, 'python-requests.py')]);
  t.match(out, `json: ${english}\n`);
  t.match(out, `  [0.00-11.00] ${detected}\n`);
  t.match(out, `vtt:\nWEBVTT\n\n00:00:00.000 --> 00:00:11.000\n`);
  t.match(out, /stream: [^]+\n\(done: 11 s of audio\)\n$/);
});

t.test('examples/python-openai.py', { skip: !(await hasModule('openai')) && 'python3 openai is not installed' }, async (t) => {
  const out = await runExample('python3', [path.join(examples, 'python-openai.py')]);
  t.match(out, `json: ${english}\n`);
  t.match(out, `  [0.00-11.00] `);
  t.match(out, `srt:\n${srt}`);
  t.match(out, /stream: [^]+\n\(done\)\n$/);
});
