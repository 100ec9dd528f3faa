// The bench end to end against a scripted OpenAI-compatible server on
// 127.0.0.1: known transcripts (so known S/D/I), one HTTP 500, WAV and
// non-WAV clips, two concurrency levels, gates and both report files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import multipart from '@fastify/multipart';
import { Command } from 'commander';
import Fastify from 'fastify';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { runBench, type BenchResult } from '../src/eval/bench.js';
import { registerCommands } from '../src/eval/cli.js';
import { EvalError } from '../src/eval/errors.js';

interface Clip {
  file: string;
  reference: string;
  /** Seconds of silence written as 16 kHz mono PCM; absent for the non-WAV clip. */
  seconds?: number;
  answer: { status: number; text?: string; usageSeconds?: number; delayMs: number };
}

const CLIPS: Clip[] = [
  { file: 'a.wav', seconds: 1, reference: 'the cat sat on the mat', answer: { status: 200, text: 'The cat sat on the mat.', delayMs: 20 } },
  // normalisation makes this exact: "wasn't" → "was not", hyphen → space
  { file: 'b.wav', seconds: 2, reference: 'he was not an ill disposed young man', answer: { status: 200, text: "He wasn't an ill-disposed young man", delayMs: 150 } },
  // 2 substitutions of 9 words
  { file: 'c.wav', seconds: 0.5, reference: 'the quick brown fox jumps over the lazy dog', answer: { status: 200, text: 'the quick brown fox jumped over a lazy dog', delayMs: 150 } },
  // 1 deletion of 3
  { file: 'd.wav', seconds: 4, reference: 'good morning everyone', answer: { status: 200, text: 'Good morning!', delayMs: 150 } },
  { file: 'e.wav', seconds: 3, reference: 'hello world', answer: { status: 500, delayMs: 5 } },
  // 2 insertions of 6; duration only from usage.seconds
  { file: 'f.flac', reference: 'to be or not to be', answer: { status: 200, text: 'To be, or not to be, that is', usageSeconds: 2.5, delayMs: 20 } },
];

function silentWav(seconds: number, rate = 16000): Buffer {
  const data = Math.round(seconds * rate) * 2;
  const b = Buffer.alloc(44 + data);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + data, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(data, 40);
  return b;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-bench-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.mkdirSync(path.join(dir, 'clips'));
for (const c of CLIPS) fs.writeFileSync(path.join(dir, 'clips', c.file), c.seconds ? silentWav(c.seconds) : Buffer.from('fLaC not really'));
const manifest = path.join(dir, 'set.jsonl');
fs.writeFileSync(manifest, CLIPS.map((c) => JSON.stringify({ audio: `clips/${c.file}`, text: c.reference })).join('\n') + '\n');

// The scripted server records what it was sent.
const received: Array<{ file: string; model: string; language: string; format: string }> = [];
let inFlight = 0;
let maxInFlight = 0;
const app = Fastify();
await app.register(multipart);
app.get('/v1/models', async () => ({ object: 'list', data: [{ id: 'fake-asr', object: 'model' }] }));
app.post('/v1/audio/transcriptions', async (req, reply) => {
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    const fields: Record<string, string> = {};
    let file = '';
    for await (const part of req.parts()) {
      if (part.type === 'file') {
        file = part.filename;
        await part.toBuffer();
      } else fields[part.fieldname] = String(part.value);
    }
    received.push({ file, model: fields.model, language: fields.language, format: fields.response_format });
    const { answer } = CLIPS.find((c) => c.file === file)!;
    await new Promise((r) => setTimeout(r, answer.delayMs));
    if (answer.status !== 200) return reply.code(answer.status).send({ error: { message: 'scripted failure', type: 'server_error' } });
    return { text: answer.text, ...(answer.usageSeconds ? { usage: { type: 'duration', seconds: answer.usageSeconds } } : {}) };
  } finally {
    inFlight--;
  }
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
t.teardown(() => app.close());

const thresholdsFile = path.join(repoRoot(), 'test', 'fixtures', 'eval', 'thresholds.yaml');

t.test('two levels: counts, WER, durations, RTF, failures and warm-up', async (t) => {
  received.length = 0;
  maxInFlight = 0;
  const result = await runBench({ url, dataset: manifest, concurrency: [1, 3], warmup: 2 });
  t.equal(result.model, 'fake-asr', 'model discovered from /v1/models');
  t.equal(result.dataset.samples, 6);
  t.equal(result.dataset.audioSeconds, null, 'one clip has no WAV header');
  t.equal(received.length, 2 * (2 + 6), 'warm-up plus timed requests at each level');
  t.ok(received.every((r) => r.model === 'fake-asr' && r.language === 'en' && r.format === 'json'));
  t.ok(maxInFlight <= 3, 'never more requests in flight than the highest level');

  for (const level of result.levels) {
    t.test(`concurrency ${level.concurrency}`, async (t) => {
      t.equal(level.requests, 6);
      t.equal(level.successes, 5);
      t.same(level.failures.byStatus, { 500: 1 });
      t.match(level.failures.examples[0], /e\.wav: 500 scripted failure/);
      const e = level.errorRate;
      t.same([e.hits, e.substitutions, e.deletions, e.insertions, e.refTokens], [29, 2, 1, 2, 32]);
      t.equal(e.corpus, 5 / 32);
      t.equal(e.maxSample, 1 / 3);
      t.equal(e.meanSample, (0 + 0 + 2 / 9 + 1 / 3 + 2 / 6) / 5);
      const byId = new Map(level.samples.map((s) => [s.audio, s]));
      t.same(
        CLIPS.map((c) => byId.get(c.file)!.durationSeconds),
        [1, 2, 0.5, 4, 3, 2.5],
        'durations from WAV headers, usage.seconds for the FLAC',
      );
      const ok = level.samples.filter((s) => s.ok);
      for (const s of ok) t.equal(s.rtf, s.latencySeconds / s.durationSeconds!, `${s.audio} RTF = latency / duration`);
      const latencies = ok.map((s) => s.latencySeconds);
      t.equal(level.latency.mean, latencies.reduce((a, b) => a + b) / 5);
      t.equal(level.latency.min, Math.min(...latencies));
      t.equal(level.latency.max, Math.max(...latencies));
      t.ok(level.latency.p50! <= level.latency.p95! && level.latency.p95! <= level.latency.p99!);
      t.equal(level.rtf.mean, ok.reduce((a, s) => a + s.rtf!, 0) / 5);
      t.equal(level.throughput.requestsPerSecond, 5 / level.wallSeconds);
      t.equal(level.throughput.audioSecondsPerSecond, (1 + 2 + 0.5 + 4 + 2.5) / level.wallSeconds);
    });
  }
  t.equal(maxInFlight > 1, true, 'the concurrency-3 level overlaps requests');
});

/** Runs `sgl-omni bench …` in-process, capturing its output and exit status. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const program = new Command().exitOverride();
  registerCommands(program);
  const writes = { out: '', err: '' };
  const realOut = process.stdout.write.bind(process.stdout);
  const realErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((writes.out += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((writes.err += chunk), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(['node', 'sgl-omni', 'bench', ...args]);
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, ...writes };
}

t.test('CLI: gates pass, files written', async (t) => {
  const out = path.join(dir, 'pass');
  const run = await cli(['--url', `${url}/v1`, '--dataset', manifest, '--concurrency', '1,3', '--warmup', '1', '--out', out,
    '--thresholds', thresholdsFile, '--preset', 'fake-pass', '--allow-failures']);
  t.equal(run.code, 0, run.err);
  t.match(run.out, /gates \(fake-pass at concurrency 3\): PASSED/);
  t.match(run.out, /c=3: ok 5\/6 \(failed: 1x500\)[^\n]*\n  failed clips\/e\.wav: 500 scripted failure\n/, 'the failure and its cause on the console');
  t.match(run.err, /^concurrency 3 \(after 1 warm-up\): 6\/6$/m, 'plain progress lines when not a TTY, counting the measured requests');
  t.notMatch(run.err, /: 7\/|\/7/, 'warm-ups are not counted');
  const result = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as BenchResult;
  t.same(result.levels.map((l) => l.concurrency), [1, 3]);
  t.same(result.gates!.results.map((g) => [g.metric, g.pass]), [['wer_corpus', true], ['wer_sample_max', true], ['throughput_rps', true], ['failures', true]]);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  t.equal((html.match(/<svg /g) ?? []).length, 5, 'five inline charts');
  t.notMatch(html, /<script|<link|src="http/, 'self-contained');
  t.match(html, /Gates passed/);
  t.match(html, /scripted failure/);
});

t.test('CLI: a failing gate exits 1 and names the metrics', async (t) => {
  const run = await cli(['--url', url, '--dataset', manifest, '--concurrency', '3', '--out', path.join(dir, 'fail'),
    '--thresholds', thresholdsFile, '--preset', 'fake-fail']);
  t.equal(run.code, 1);
  t.match(run.out, /FAIL wer_corpus = 0\.1563 \(<= 0\.1100/);
  t.match(run.out, /FAIL throughput_rps/);
  t.match(run.out, /FAIL failures = 1\.0000 \(<= 0\.0000/);
  t.match(run.out, /pass wer_sample_max/);
  t.match(fs.readFileSync(path.join(dir, 'fail', 'report.html'), 'utf8'), /Gates FAILED/);
});

t.test('bad input is reported, not thrown', async (t) => {
  const missing = await cli(['--url', url, '--dataset', path.join(dir, 'nope.jsonl'), '--out', path.join(dir, 'x')]);
  t.equal(missing.code, 2);
  t.match(missing.err, /cannot read dataset manifest/);
  const notRun = await cli(['--url', url, '--dataset', manifest, '--concurrency', '1', '--out', path.join(dir, 'x'),
    '--thresholds', thresholdsFile, '--preset', 'fake-pass']);
  t.equal(notRun.code, 2);
  t.match(notRun.err, /gated at concurrency 3; add it to --concurrency/);
  await t.rejects(runBench({ url, dataset: manifest, concurrency: [1], thresholdsFile }), new EvalError('bad_option', '--thresholds needs --preset NAME'));
  await t.rejects(runBench({ url, dataset: manifest, concurrency: [1], thresholdsFile, preset: 'nope' }), { code: 'unknown_preset' });
  await t.rejects(runBench({ url: 'not a url', dataset: manifest, concurrency: [1] }), { code: 'bad_option' });
});

t.test('CLI: a failed request exits 3 with its cause on the console, unless --allow-failures', async (t) => {
  const run = await cli(['--url', url, '--dataset', manifest, '--concurrency', '1', '--warmup', '0', '--out', path.join(dir, 'failed')]);
  t.equal(run.code, 3);
  t.match(run.err, /sgl-omni bench: 1 of 6 requests failed \(first: clips\/e\.wav: 500 scripted failure\); --allow-failures accepts that/);
  const allowed = await cli(['--url', url, '--dataset', manifest, '--concurrency', '1', '--warmup', '0', '--out', path.join(dir, 'failed'), '--allow-failures']);
  t.equal(allowed.code, 0);
  t.notMatch(allowed.err, /requests failed/);
});

t.test('CLI against a dead server: non-zero exit, ECONNREFUSED on the console', async (t) => {
  const closed = Fastify();
  const deadUrl = await closed.listen({ host: '127.0.0.1', port: 0 });
  await closed.close();
  const run = await cli(['--url', deadUrl, '--dataset', manifest, '--concurrency', '4', '--limit', '5', '--out', path.join(dir, 'dead')]);
  t.equal(run.code, 3);
  t.match(run.out, /c=4: ok 0\/5 \(failed: 5xno-response\)[^\n]*\n  failed clips\/a\.wav: no response ECONNREFUSED\n/);
  t.match(run.err, /5 of 5 requests failed \(first: clips\/a\.wav: no response ECONNREFUSED\)/);
  t.match(run.err, /^concurrency 4 \(after 5 warm-up\): 5\/5$/m, 'progress counts the 5 clips');
});

t.test('default warm-up: 2 × concurrency, at most one per clip', async (t) => {
  const before = received.length;
  const result = await runBench({ url, dataset: manifest, concurrency: [4], limit: 3 });
  t.equal(result.levels[0].warmupRequests, 3, 'c=4 on 3 clips warms up with 3, not 8');
  t.equal(received.length - before, 3 + 3, 'the server got the warm-ups plus one request per clip');
  const small = await runBench({ url, dataset: manifest, concurrency: [1], limit: 3 });
  t.equal(small.levels[0].warmupRequests, 2);
});

t.test('an unreachable server counts as failures with status 0', async (t) => {
  const closed = Fastify();
  const deadUrl = await closed.listen({ host: '127.0.0.1', port: 0 });
  await closed.close();
  const result = await runBench({ url: deadUrl, dataset: manifest, concurrency: [2], warmup: 0, model: 'm', limit: 2 });
  t.same(result.levels[0].failures.byStatus, { 0: 2 });
  t.equal(result.levels[0].errorRate.corpus, null);
  t.equal(result.levels[0].latency.mean, null);
});
