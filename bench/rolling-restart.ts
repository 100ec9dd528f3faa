// Issue 17: zero lost requests across a rolling restart behind a real balancer.
// Starts 3 `sgl-omni serve` replicas on the tiny checkpoint behind HAProxy
// (deploy/haproxy.cfg: active /readyz checks, leastconn, redispatch), sends a
// steady load of transcriptions (jfk.wav) and:
//  1. rolling restart: SIGTERM each replica in turn (it fails readiness, serves on
//     for --delay-s, drains, exits 0), starts its replacement, waits until HAProxy
//     marks it UP; rounds of this until at least --requests were sent; prints
//     sent / ok / failed / lost (failed and lost must be 0);
//  2. kill -9 of one replica under load: prints the failed requests, the requests that
//     replica held when it died (the client's outstanding ids HAProxy had sent to it),
//     whether the two sets are equal, and how long HAProxy took to mark it DOWN.
// Needs haproxy on PATH (Debian: apt-get install -y haproxy). Exit 1 when a check fails.
//   npm run build && node dist/bench/rolling-restart.js [--requests 600] [--concurrency 6] [--delay-s 3]
// About 4 minutes. The counts are the result; times depend on the machine (its load is printed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { repoRoot } from '../src/util/paths.js';
import { benchCacheDir, parseScriptArgs } from './args.js';
import { QuietMeter, runLine } from './quiet.js';
import { Balancer, freePort, Load, Replica, until200, type Outcome } from './rolling-restart-cluster.js';

const USAGE = `Usage: node dist/bench/rolling-restart.js [--requests N] [--concurrency C] [--delay-s S] [--max-new-tokens T] [--haproxy PATH] [--cache-dir DIR]
  --requests        least requests sent across the rolling restart (default 600)
  --concurrency     clients sending back to back (default 6)
  --delay-s         each replica's --shutdown-delay-s (default 3: > HAProxy's inter 1 s x fall 1)
  --max-new-tokens  tokens per transcription (default 48: requests long enough to be in flight)
  --haproxy         the haproxy binary (default: haproxy on PATH)`;
const { values } = parseScriptArgs(USAGE, {
  options: {
    requests: { type: 'string', default: '600' },
    concurrency: { type: 'string', default: '6' },
    'delay-s': { type: 'string', default: '3' },
    'max-new-tokens': { type: 'string', default: '48' },
    haproxy: { type: 'string', default: 'haproxy' },
    'cache-dir': { type: 'string' },
  },
});
const minRequests = Number(values.requests);
const concurrency = Number(values.concurrency);
const delayS = Number(values['delay-s']);
if (spawnSync(values.haproxy, ['-v']).status !== 0) {
  process.stderr.write(`${values.haproxy} not found: install it (Debian: apt-get install -y haproxy) or pass --haproxy PATH\n`);
  process.exit(2);
}

const cache = path.join(benchCacheDir(values['cache-dir']), 'rolling-restart');
const model = path.join(cache, 'tiny');
if (!fs.existsSync(path.join(model, 'config.json'))) await makeCheckpoint({ size: 'tiny', out: model, seed: 17 });
const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'rolling-restart-'));
const wav = new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));
const fields = { max_new_tokens: values['max-new-tokens'] };
const args = ['--model-path', model, '--cache-dir', path.join(cache, 'graphs'), '--shutdown-delay-s', String(delayS), '--shutdown-timeout-s', '60', '--log-level', 'debug'];
const replicas: Replica[] = [];
let balancer: Balancer | undefined;
const cleanup = () => {
  for (const r of replicas) if (r.alive) r.child.kill('SIGKILL');
  balancer?.stop();
};
process.on('exit', cleanup);

const meter = new QuietMeter({ ownPids: () => [...replicas.map((r) => r.child.pid ?? 0), balancer?.child.pid ?? 0].filter((p) => p > 0) });
console.log(await meter.banner());
console.log(`cache ${cache}; logs ${logs}`);

const ports = [await freePort(), await freePort(), await freePort()];
const start = (i: number) => (replicas[i] = new Replica(`r${i + 1}`, ports[i], args, path.join(logs, `r${i + 1}.log`)));
// The first converts the graphs into the shared cache; the others load them.
await start(0).ready();
await Promise.all([start(1).ready(), start(2).ready()]);
balancer = new Balancer(await freePort(), replicas, path.join(logs, 'haproxy.log'), values.haproxy);
const lb = `http://127.0.0.1:${balancer.port}`;
await until200(`${lb}/readyz`, 10_000);
const url = `${lb}/v1/audio/transcriptions`;

/** Transcriptions a replica's log shows begun (incoming request, debug) and never finished (no line with `res`). */
function inFlightByLog(file: string): number {
  const begun = new Set<string>();
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    let line: { reqId?: string; msg?: string; req?: { url?: string }; res?: unknown };
    try {
      line = JSON.parse(text);
    } catch {
      continue;
    }
    if (!line.reqId) continue;
    if (line.msg === 'incoming request' && line.req?.url === '/v1/audio/transcriptions') begun.add(line.reqId);
    else if (line.res !== undefined) begun.delete(line.reqId);
  }
  return begun.size;
}

const tally = (outcomes: Outcome[]) => ({
  sent: outcomes.length,
  ok: outcomes.filter((o) => o.status === 200).length,
  failed: outcomes.filter((o) => o.status !== 200 && !o.lost),
  lost: outcomes.filter((o) => o.lost).length,
});
let passed = true;

const { quiet } = await meter.measure(async () => {
  // 1. Rolling restart under load.
  const load = new Load(url, wav, concurrency, fields, 'roll');
  await load.reach(30);
  // Rounds of restarts until --requests have been sent, so that every request meets one.
  let rounds = 0;
  for (; rounds === 0 || load.done < minRequests; rounds++) for (let i = 0; i < replicas.length; i++) {
    const old = replicas[i];
    const t0 = performance.now();
    old.child.kill('SIGTERM');
    const down = await balancer!.state(old.name, 'DOWN', t0, 30_000);
    const code = await old.exited;
    const exited = performance.now();
    const replacement = start(i);
    await replacement.ready();
    const up = await balancer!.state(old.name, 'UP', performance.now(), 30_000);
    console.log(`restart ${old.name}: HAProxy marked it DOWN ${((down - t0) / 1000).toFixed(2)} s after SIGTERM, exit ${code} ${((exited - t0) / 1000).toFixed(1)} s, replacement UP ${((up - t0) / 1000).toFixed(1)} s after SIGTERM; ${load.done} requests done`);
    if (code !== 0) passed = false;
  }
  const roll = tally(await load.stop());
  const rollOk = roll.failed.length === 0 && roll.lost === 0 && roll.sent >= minRequests;
  passed &&= rollOk;
  console.log(`ROLLING RESTART: ${roll.sent} requests through ${rounds * replicas.length} restarts (${rounds} rounds): ${roll.ok} ok, ${roll.failed.length} failed, ${roll.lost} lost ${rollOk ? '(ok)' : '(FAIL)'}` +
    (roll.failed.length > 0 ? `; statuses ${[...new Set(roll.failed.map((o) => o.status))].join(', ')}` : ''));

  // 2. kill -9 one replica under load.
  const victim = replicas[1];
  const kill = new Load(url, wav, concurrency, fields, 'kill');
  await kill.reach(40);
  // The requests it held: sent before the kill and routed to it (HAProxy logs the server at the end).
  const outstanding = new Set(kill.outstanding);
  const t0 = performance.now();
  victim.child.kill('SIGKILL');
  const down = await balancer!.state(victim.name, 'DOWN', t0, 10_000);
  const after = kill.done;
  await kill.reach(after + 60);
  const killed = tally(await kill.stop());
  await new Promise((resolve) => setTimeout(resolve, 2000)); // HAProxy writes each line as its request ends
  for (const o of killed.failed) console.log(`  failed ${o.id}: status ${o.status}${o.error ? ` (${o.error})` : ''}, HAProxy: ${JSON.stringify(balancer!.requests.get(o.id) ?? 'no log line')}`);
  // In flight on it, by its own log: transcriptions it began (incoming request) and never answered.
  const held = inFlightByLog(victim.logFile);
  const failedIds = killed.failed.map((o) => o.id);
  const sentBefore = failedIds.filter((id) => outstanding.has(id)).length;
  // HAProxy logs a 502 for a request on a fresh client connection; on a kept-alive one it closes
  // the connection without a line (so that the client may retry: HAProxy's design).
  const logged = failedIds.map((id) => balancer!.requests.get(id));
  const elsewhere = logged.filter((r) => r && r.server !== victim.name).length;
  const silent = logged.filter((r) => !r).length;
  const killOk = failedIds.length === held && sentBefore === failedIds.length && killed.lost === 0 && elsewhere === 0 && held > 0;
  passed &&= killOk;
  console.log(`KILL -9 ${victim.name}: ${killed.sent} requests, ${killed.failed.length} failed (${killed.failed.length - silent} answered 502, ${silent} connections closed), ` +
    `${held} in flight on ${victim.name} at the kill by its own log; failed = in flight: ${failedIds.length === held ? 'yes' : 'NO'}, all sent before the kill: ${sentBefore === failedIds.length ? 'yes' : 'NO'}, ` +
    `failed on another replica ${elsewhere}, lost ${killed.lost}; HAProxy marked it DOWN ${((down - t0) / 1000).toFixed(2)} s after the kill (check inter 1 s, fall 1) ${killOk ? '(ok)' : '(FAIL)'}`);
});
console.log(runLine(quiet, meter.maxOtherCores));
cleanup();
process.exit(passed ? 0 : 1);
