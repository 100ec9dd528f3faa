// Latency of a normal request (jfk.wav, 11 s, 16 kHz) idle and sent 0.5 s behind N hostile
// uploads at once (issue 11: 120 s of FLAC at 383,990 Hz, 19 KB, ~6 s of decode each), side by
// side on the real server (tiny checkpoint, shipped pipeline). Prints min and median of each and
// their ratio; fair sharing puts the ratio near N + 1, not behind all N hostile decodes.
//   node dist/bench/fairness.js [--runs 5] [--hostile 1]
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { buildConstantFlac } from '../test/fixtures/audio/flac-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from '../test/fixtures/server/tiny-server.js';

const arg = (name: string) => Number(process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : NaN);
const runs = arg('--runs') || 5;
const hostileCount = arg('--hostile') || 1;
const server = await startTinyServer();
const normal = new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));
const hostile = buildConstantFlac({ seconds: 120, declaredSamples: 0, sampleRate: 383990, channels: 1 });

async function post(bytes: Uint8Array): Promise<number> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '8');
  const t0 = performance.now();
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`status ${res.status}`);
  return performance.now() - t0;
}

const stats = (ms: number[]) => {
  const sorted = [...ms].sort((a, b) => a - b);
  return { min: sorted[0], median: sorted[Math.floor(sorted.length / 2)] };
};
const idle: number[] = [];
const behind: number[] = [];
const hostileMs: number[] = [];
await post(normal); // warm-up
for (let i = 0; i < runs; i++) {
  idle.push(await post(normal));
  const first = Array.from({ length: hostileCount }, () => post(hostile));
  await new Promise((resolve) => setTimeout(resolve, 500));
  behind.push(await post(normal));
  hostileMs.push(...(await Promise.all(first)));
}
const a = stats(idle);
const b = stats(behind);
const h = stats(hostileMs);
console.table([
  { case: 'normal, idle', 'min ms': a.min.toFixed(0), 'median ms': a.median.toFixed(0) },
  { case: `normal, 0.5 s behind ${hostileCount} hostile`, 'min ms': b.min.toFixed(0), 'median ms': b.median.toFixed(0) },
  { case: 'hostile itself', 'min ms': h.min.toFixed(0), 'median ms': h.median.toFixed(0) },
]);
console.log(`behind ${hostileCount} hostile / idle: min ${(b.min / a.min).toFixed(2)}, median ${(b.median / a.median).toFixed(2)} (${runs} runs, ${process.version})`);
await server.close();
