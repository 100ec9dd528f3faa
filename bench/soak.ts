// Soak: the real `sgl-omni serve` process on loopback under a steady mixed load
// (valid, streaming, invalid and aborted requests) for a bounded time. Reports
// failures (any answer other than the one each kind must get), p50/p99 latency
// of completed transcriptions and the server's RSS per interval, and their
// drift from the first interval to the last (latencies of the first --warmup-s
// are left out, so start-up costs do not read as drift). Ends with SIGTERM and
// checks the server exits 0 with its stage queues empty.
// Usage: node dist/bench/soak.js [--minutes 10] [--interval-s 60] [--clients 4] [--think-ms 50] [--warmup-s 10]
//        [--model-path DIR (default: a tiny random checkpoint)] [--clip WAV] [-- extra serve args]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { parseScriptArgs } from './args.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { startServe } from '../test/fixtures/server/cli-process.js';

const USAGE = `Usage: node dist/bench/soak.js [--minutes 10] [--interval-s 60] [--clients 4] [--think-ms 50] [--warmup-s 10]
       [--model-path DIR (default: a tiny random checkpoint)] [--clip WAV] [-- extra serve args]
Runs sgl-omni serve on loopback under a mixed load for --minutes; reports failures, p50/p99 latency
and server RSS per interval and their drift, then checks a SIGTERM exits 0.`;
const { values, positionals } = parseScriptArgs(USAGE, {
  allowPositionals: true,
  options: {
    minutes: { type: 'string', default: '10' },
    'interval-s': { type: 'string', default: '60' },
    clients: { type: 'string', default: '4' },
    'think-ms': { type: 'string', default: '50' },
    'warmup-s': { type: 'string', default: '10' },
    'model-path': { type: 'string' },
    clip: { type: 'string' },
  },
});
const durationMs = Number(values.minutes) * 60_000;
const intervalMs = Number(values['interval-s']) * 1000;
const clients = Number(values.clients);
const thinkMs = Number(values['think-ms']);
const warmupMs = Number(values['warmup-s']) * 1000;
const TRANSCRIBE = '/v1/audio/transcriptions';
const PROGRESS_EVERY_MS = 10_000;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-soak-'));
process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
let modelPath = values['model-path'];
if (!modelPath) {
  modelPath = path.join(workDir, 'tiny');
  await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 11 });
}
const clip = new Uint8Array(fs.readFileSync(values.clip ?? path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));

const server = await startServe(['--model-path', modelPath, '--cache-dir', path.join(workDir, 'cache'), ...positionals]);
await server.waitForLog((l) => l.msg === 'pipeline loaded; serving', 600_000);
const pid = server.child.pid!;

// ---- the load: each kind of request and the answer it must get -------------------------

type Kind = 'valid' | 'stream' | 'invalid' | 'aborted';
/** Out of 20 requests: 10 valid, 4 streaming, 3 invalid, 3 aborted. */
const MIX: Kind[] = [...Array<Kind>(10).fill('valid'), ...Array<Kind>(4).fill('stream'), ...Array<Kind>(3).fill('invalid'), ...Array<Kind>(3).fill('aborted')];

function form(fields: Record<string, string>, bytes: Uint8Array = clip, filename = 'clip.wav'): FormData {
  const body = new FormData();
  body.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'audio/wav' }), filename);
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return body;
}

/** Bad requests, each with the status it must get. */
const INVALID: [string, () => RequestInit, number][] = [
  ['text named .wav', () => ({ method: 'POST', body: form({}, new TextEncoder().encode('not audio at all\n'.repeat(50)), 'notes.wav') }), 415],
  ['unknown language', () => ({ method: 'POST', body: form({ language: 'klingon' }) }), 400],
  ['no file', () => ({ method: 'POST', body: (() => { const f = new FormData(); f.append('model', 'x'); return f; })() }), 400],
  ['JSON body', () => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"file":"x"}' }), 415],
];

/** Runs one request of `kind`; resolves with an error description, or undefined when the answer was right. */
async function run(kind: Kind, n: number): Promise<string | undefined> {
  const url = `${server.url}${TRANSCRIBE}`;
  if (kind === 'valid') {
    const res = await fetch(url, { method: 'POST', body: form({}) });
    const body = (await res.json()) as { text?: unknown };
    return res.status === 200 && typeof body.text === 'string' ? undefined : `valid: HTTP ${res.status} ${JSON.stringify(body).slice(0, 120)}`;
  }
  if (kind === 'stream') {
    const res = await fetch(url, { method: 'POST', body: form({ stream: 'true' }) });
    const text = await res.text();
    return res.status === 200 && text.includes('"transcript.text.done"') && text.endsWith('data: [DONE]\n\n') ? undefined : `stream: HTTP ${res.status} ${text.slice(-120)}`;
  }
  if (kind === 'invalid') {
    const [label, init, status] = INVALID[n % INVALID.length];
    const res = await fetch(url, init());
    const body = (await res.json()) as { error?: { code?: unknown } };
    return res.status === status && typeof body.error?.code === 'string' ? undefined : `invalid (${label}): HTTP ${res.status}, wanted ${status}`;
  }
  // Aborted: half leave mid-stream after the first event, half at a random moment of a plain request.
  const client = new AbortController();
  try {
    if (n % 2 === 0) {
      const res = await fetch(url, { method: 'POST', body: form({ stream: 'true' }), signal: client.signal });
      await res.body!.getReader().read();
    } else {
      setTimeout(() => client.abort(), n % 50);
      await (await fetch(url, { method: 'POST', body: form({}), signal: client.signal })).arrayBuffer();
    }
    client.abort();
    return undefined;
  } catch (err) {
    return (err as Error).name === 'AbortError' ? undefined : `aborted: ${(err as Error).message}`;
  }
}

// ---- bookkeeping per interval ----------------------------------------------------------

interface Interval {
  requests: number;
  failures: number;
  /** Milliseconds of completed valid and streaming requests (after the warm-up). */
  latencies: number[];
  rssMb: number;
}

const intervals: Interval[] = Array.from({ length: Math.ceil(durationMs / intervalMs) }, () => ({ requests: 0, failures: 0, latencies: [], rssMb: NaN }));
const failureCounts = new Map<string, number>();
const started = performance.now();
/** The interval `t` falls in; requests started in the last moment count in the last interval. */
const intervalAt = (t: number) => intervals[Math.min(intervals.length - 1, Math.floor((t - started) / intervalMs))];

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function rssMbOf(processId: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${processId}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function client(index: number): Promise<void> {
  for (let n = index; performance.now() - started < durationMs; n += clients) {
    const kind = MIX[n % MIX.length];
    const t0 = performance.now();
    const failure = await run(kind, n).catch((err: Error) => `${kind}: ${err.message} ${String((err.cause as Error | undefined)?.message ?? '')}`);
    const interval = intervalAt(t0);
    interval.requests++;
    if (failure) {
      interval.failures++;
      const key = failure.slice(0, 160);
      failureCounts.set(key, (failureCounts.get(key) ?? 0) + 1);
    } else if ((kind === 'valid' || kind === 'stream') && t0 - started >= warmupMs) {
      interval.latencies.push(performance.now() - t0);
    }
    if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
  }
}

const sampler = setInterval(() => {
  const now = performance.now();
  // Sampled every second, so each interval ends up with the RSS of its last second.
  if (now - started < durationMs) intervalAt(now).rssMb = rssMbOf(pid);
}, 1000);
const progress = setInterval(() => {
  const elapsed = (performance.now() - started) / 1000;
  const current = intervalAt(performance.now());
  const total = intervals.reduce((sum, i) => sum + i.requests, 0);
  const failed = intervals.reduce((sum, i) => sum + i.failures, 0);
  // Latencies count only after --warmup-s, and a new interval starts empty: say which, not "-".
  const latency = elapsed * 1000 < warmupMs
    ? 'latency not measured during the warm-up'
    : current.latencies.length === 0
      ? 'no transcription completed yet this interval'
      : `p99 this interval ${fmt(percentile([...current.latencies].sort((a, b) => a - b), 99))} ms (${current.latencies.length} done)`;
  process.stderr.write(`soak ${elapsed.toFixed(0)}/${durationMs / 1000} s: ${total} requests, ${failed} failures, ${latency}, server RSS ${fmt(rssMbOf(pid))} MB\n`);
}, PROGRESS_EVERY_MS);

process.stderr.write(`soak: ${clients} clients for ${values.minutes} min against pid ${pid} (${server.url}), mix ${MIX.length}: 10 valid / 4 stream / 3 invalid / 3 aborted\n`);
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
clearInterval(sampler);
clearInterval(progress);

const metrics = await (await fetch(`${server.url}/metrics`)).text();
const queued = [...metrics.matchAll(/^sgl_omni_stage_queued\{stage="(\w+)"\} (\d+)$/gm)].filter((m) => m[2] !== '0').map((m) => `${m[1]}=${m[2]}`);
server.child.kill('SIGTERM');
const exitCode = await server.exited;

// ---- report ----------------------------------------------------------------------------

const rows = intervals.map((interval, i) => {
  const sorted = [...interval.latencies].sort((a, b) => a - b);
  return { i, requests: interval.requests, failures: interval.failures, p50: percentile(sorted, 50), p99: percentile(sorted, 99), rssMb: interval.rssMb };
});
console.log(`\ninterval (${values['interval-s']} s) | requests | failures | p50 ms | p99 ms | server RSS MB`);
for (const r of rows) console.log(`${String(r.i + 1).padStart(17)} | ${String(r.requests).padStart(8)} | ${String(r.failures).padStart(8)} | ${fmt(r.p50).padStart(6)} | ${fmt(r.p99).padStart(6)} | ${fmt(r.rssMb).padStart(13)}`);
const [first, last] = [rows[0], rows.at(-1)!];
const totals = rows.reduce((sum, r) => ({ requests: sum.requests + r.requests, failures: sum.failures + r.failures }), { requests: 0, failures: 0 });
console.log(`\nrequests ${totals.requests}, failures ${totals.failures} (${fmt((100 * totals.failures) / Math.max(1, totals.requests), 2)} %)`);
console.log(`p99 drift, last/first interval: ${fmt(last.p99 / first.p99, 2)}x (${fmt(first.p99)} → ${fmt(last.p99)} ms)`);
console.log(`RSS drift, last - first interval: ${fmt(last.rssMb - first.rssMb, 1)} MB (${fmt(first.rssMb)} → ${fmt(last.rssMb)} MB, ${fmt(last.rssMb / first.rssMb, 3)}x)`);
console.log(`stage queues at the end: ${queued.length === 0 ? 'all empty' : queued.join(', ')}; exit code after SIGTERM: ${exitCode}`);
for (const [failure, count] of [...failureCounts].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${count}x ${failure}`);
process.exitCode = totals.failures === 0 && queued.length === 0 && exitCode === 0 ? 0 : 1;
