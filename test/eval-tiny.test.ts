// The evaluation harness's one command (`sgl-omni bench`, a child process)
// against the real server on the tiny checkpoint: the numbers it reports are
// checked against what the server answers to the same clips sent directly.
// The tiny model's text is random but deterministic (greedy, batch invariant),
// so references built from it give known error counts; low WER is not the point.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { BenchResult } from '../src/eval/bench.js';
import { repoRoot } from '../src/util/paths.js';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const run = promisify(execFile);
const RATE = 16000;

/** A 16 kHz mono 16-bit WAV of a gliding tone with a little noise, different per seed. */
function clip(seconds: number, seed: number): Uint8Array {
  const n = Math.round(seconds * RATE);
  const pcm = new Int16Array(n);
  let state = seed;
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    const f = 200 + 300 * seed + (400 * i) / n;
    pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * f * i) / RATE) + ((state >>> 16) % 600) - 300);
  }
  return buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(pcm.buffer) });
}

const CLIPS = [
  { file: 'a.wav', seconds: 1.5 },
  { file: 'b.wav', seconds: 3 },
  { file: 'c.wav', seconds: 6.25 },
];
/** Words no random transcript contains, appended to a reference: each is one deletion. */
const MISSING_WORDS = ['zebra', 'quokka'];

const server = await startTinyServer();
t.teardown(() => server.close());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-tiny-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What the server answers to a clip sent alone, with the fields the bench sends. */
async function transcribeDirect(bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)], { type: 'audio/wav' }), 'clip.wav');
  form.append('model', TINY_MODEL_NAME);
  form.append('language', 'en');
  form.append('response_format', 'json');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  if (res.status !== 200) throw new Error(`direct request: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { text: string }).text;
}

const direct: string[] = [];
for (const [i, c] of CLIPS.entries()) {
  const bytes = clip(c.seconds, i + 1);
  fs.writeFileSync(path.join(dir, c.file), bytes);
  direct.push(await transcribeDirect(bytes));
}
// a: reference = the server's own text (no errors); b and c: that text plus words it lacks.
const references = [direct[0], `${direct[1]} ${MISSING_WORDS[0]}`, `${direct[2]} ${MISSING_WORDS.join(' ')}`];
const manifest = path.join(dir, 'set.jsonl');
fs.writeFileSync(manifest, CLIPS.map((c, i) => JSON.stringify({ audio: c.file, text: references[i] })).join('\n') + '\n');

t.test('sgl-omni bench at concurrency 1 and 3 against the tiny server', async (t) => {
  const out = path.join(dir, 'report');
  const cli = path.join(repoRoot(), 'bin', 'sgl-omni.js');
  const args = ['bench', '--url', server.base, '--dataset', manifest, '--concurrency', '1,3', '--warmup', '1', '--out', out];
  const { stdout } = await run(process.execPath, [cli, ...args], { timeout: 120_000 });
  for (const c of [1, 3]) t.match(stdout, new RegExp(`c=${c}: ok 3/3 .* WER [\\d.]+% \\(S 0 D 3 I 0 /`), `prints the concurrency ${c} summary`);

  const result = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as BenchResult;
  t.equal(result.model, TINY_MODEL_NAME, 'model id discovered from GET /v1/models');
  t.equal(result.dataset.audioSeconds, 1.5 + 3 + 6.25, 'audio seconds from the WAV headers');
  t.same(result.levels.map((l) => l.concurrency), [1, 3]);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  t.match(html, /<svg/, 'the report holds its plots inline');
  t.notMatch(html, /<script[^>]+src=|<link[^>]+href=/, 'and loads nothing from elsewhere');

  for (const level of result.levels) {
    t.test(`concurrency ${level.concurrency}`, async (t) => {
      t.equal(level.requests, 3);
      t.equal(level.successes, 3, 'no failures');
      t.equal(level.failures.count, 0);
      const byAudio = new Map(level.samples.map((s) => [s.audio, s]));
      const samples = CLIPS.map((c) => byAudio.get(c.file)!);
      t.same(samples.map((s) => s.hypothesis), direct, 'the hypotheses are what the server answers to each clip alone');
      t.same(samples.map((s) => s.durationSeconds), CLIPS.map((c) => c.seconds));
      t.same(samples.map((s) => [s.substitutions, s.deletions, s.insertions]), [[0, 0, 0], [0, 1, 0], [0, 2, 0]], 'known error counts');
      t.equal(samples[0].errorRate, 0);
      const refWords = samples.map((s) => s.hits + s.substitutions + s.deletions);
      t.equal(level.errorRate.refTokens, refWords[0] + refWords[1] + refWords[2]);
      t.equal(level.errorRate.corpus, 3 / level.errorRate.refTokens, 'corpus WER = Σ errors / Σ reference words');
      for (const s of samples) t.equal(s.rtf, s.latencySeconds / s.durationSeconds!, `${s.audio}: RTF = latency / duration`);
      t.equal(level.throughput.requestsPerSecond, 3 / level.wallSeconds);
      t.equal(level.throughput.audioSecondsPerSecond, (1.5 + 3 + 6.25) / level.wallSeconds);
      const latencies = samples.map((s) => s.latencySeconds);
      t.ok(Math.abs(level.latency.mean! - latencies.reduce((a, b) => a + b) / 3) < 1e-12, 'mean latency');
      t.ok(level.wallSeconds >= Math.max(...latencies), 'the level lasts at least as long as its slowest request');
    });
  }
});
