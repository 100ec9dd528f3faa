// Decompression bombs sent to the real server (tiny checkpoint, shipped pipeline, 3 h cap), with
// the process RSS sampled every 10 ms. Issue 11 asks that RSS return to within 20 % of idle after
// every hostile request, so the bench reads two idle levels: cold (pipeline ready, no upload yet)
// and warm (after one normal upload through every decoder path: WAV, FLAC, MP3, Vorbis, Opus and
// ffmpeg's mov/matroska/amr), and prints after each case its RSS (3 s after the last answer, max
// over --reps), the ratio to warm idle and PASS/FAIL at 1.2.
// Why warm: the first upload through each path loads code and buffers into the decode and
// resample workers, and the first model runs size onnxruntime's buffers: +27-61 MB measured.
// Cases come in two kinds. Refused ones (over the cap) never reach the model. Admitted ones
// (1000 s, legal) are transcribed in full: 4 x 1000 s at once hold 4 x (64 MB of 16 kHz samples
// + 51 MB of mel) in the workers. RSS afterwards stayed at warm idle + 335 MB: buffers the stage
// workers had dropped (dead, not leaked), which V8 frees only when it collects, and an idle
// worker never collects. Found 1 Dec (diagnostic build reading each worker's v8 heap statistics;
// 2 x 1000 s): 3, 13 and 43 s after the last answer RSS 557 MB (warm 319), dead buffers 122 MB
// in features, 100 MB in encoder, 56 MB in decode; one gc() per worker: 369 MB. Not the ORT
// arena, glibc arenas or the encoder cache (its worker held 3 MB after gc). Fix: workers collect
// when they go idle after large allocations (src/runtime/idle-gc.ts), and the segmenter no
// longer holds 8 bytes per sample of the file (128 MB per 1000 s request) for its energy sums.
// 4 x 1000 s, loaded machine (load 9-18): after / warm 1.92 -> 1.06, peak - warm 574 -> 291 MB.
// Quiet, 1 Dec, 3 rounds: 1.74-1.9 (the idle collector stopped collecting: its floor was read before
// the sweeper freed; idle-gc.ts) -> 1.13-1.47; with MALLOC_ARENA_MAX=2 1.02-1.28 (README, Security).
// Admitted cases run after every refused one (their reading was once the max over interleaved runs).
// Time to the last answer: min/median over --reps (the machine is shared; quiet it first).
// Issue 11 at 5b77086: the 4 h FLAC took RSS 200 MB → 4.3 GB and kept it; four 1000 s
// 8-channel FLACs peaked at 8.4 GB and kept 5.2 GB. Measured 30 Nov (2 shared cores, load 3-6):
// 4 h FLAC 163.1 s → 0.13-0.16 s, as WAV 0xF1AC 167.1 s → 0.76-1.12 s, 4 at once 0.56-0.79 s.
//   node dist/bench/decode-memory.js [--reps N] [--only REGEX]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { buildConstantFlac, wavWrappedFlac } from '../test/fixtures/audio/flac-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from '../test/fixtures/server/tiny-server.js';
import { parseScriptArgs } from './args.js';

const USAGE = 'Usage: node dist/bench/decode-memory.js [--reps N] [--only REGEX]';
const { values: args } = parseScriptArgs(USAGE, { options: { reps: { type: 'string', default: '3' }, only: { type: 'string' } } });
const MB = 2 ** 20;
const BOUND = 1.2;
console.log(`machine: ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} at start${os.loadavg()[0] > 0.5 ? ' (NOT quiet: times and RSS move with the load)' : ''}`);
const server = await startTinyServer();

async function post(bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '4');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const body = (await res.json()) as { error?: { code: string } };
  return `${res.status}${body.error ? ` ${body.error.code}` : ''}`;
}

const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 3000)); // worker threads collect on their own schedule
  return process.memoryUsage().rss;
};

const fourHours = buildConstantFlac({ seconds: 4 * 3600, declaredSamples: 0, sampleRate: 48000, channels: 2 });
const wide = buildConstantFlac({ seconds: 1000, declaredSamples: 0, sampleRate: 48000, channels: 8 });
type Case = { name: string; admitted: boolean; uploads: Uint8Array[] };
const allCases: Case[] = [
  { name: '4 h 48 kHz stereo FLAC, undeclared', admitted: false, uploads: [fourHours] },
  { name: 'same stream as WAV 0xF1AC (ffmpeg)', admitted: false, uploads: [wavWrappedFlac(fourHours)] },
  { name: '4 x 4 h FLAC at once (3 h cap)', admitted: false, uploads: [fourHours, fourHours, fourHours, fourHours] },
  { name: '2 x 4 h FLAC + 2 x WAV 0xF1AC at once', admitted: false, uploads: [fourHours, fourHours, wavWrappedFlac(fourHours), wavWrappedFlac(fourHours)] },
  { name: '4 x 1000 s 8 ch 48 kHz FLAC at once', admitted: true, uploads: [wide, wide, wide, wide] },
];
const cases = allCases.filter(({ name }) => !args.only || new RegExp(args.only).test(name));

const coldIdle = await settle();
const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name)));
const warmUp = ['jfk.wav', 'clip.flac', 'jfk-44k-stereo.mp3', 'clip-44k-stereo.ogg', 'clip.opus', 'clip-with-video.mp4', 'clip.webm', 'clip.amr'];
for (const name of warmUp) {
  const status = await post(fixture(name));
  if (status !== '200') throw new Error(`warm-up upload ${name} answered ${status}`);
}
const warmIdle = await settle();

const runs = new Map<string, { seconds: number[]; peak: number; afters: number[]; answers: Set<string> }>();
async function runCase({ name, uploads }: Case): Promise<void> {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  const statuses = await Promise.all(uploads.map(post));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  const after = await settle();
  const run = runs.get(name) ?? { seconds: [], peak: 0, afters: [], answers: new Set<string>() };
  run.seconds.push(seconds);
  run.peak = Math.max(run.peak, peak);
  run.afters.push(after);
  statuses.forEach((s) => run.answers.add(s));
  runs.set(name, run);
}
// refused cases first, interleaved run by run; admitted ones after, so their high-water mark is not read as the refused ones'
for (const admitted of [false, true]) {
  for (let rep = 0; rep < Number(args.reps); rep++) for (const c of cases.filter((x) => x.admitted === admitted)) await runCase(c);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(`idle RSS: cold ${Math.round(coldIdle / MB)} MB (pipeline ready, no upload), warm ${Math.round(warmIdle / MB)} MB (after ${warmUp.join(', ')}); ${process.version}, ${args.reps} runs per case`);
const rows = cases.map(({ name, admitted, uploads }) => {
  const run = runs.get(name)!;
  const after = Math.max(...run.afters);
  const ratio = after / warmIdle;
  return {
    case: name,
    kind: admitted ? 'admitted' : 'refused',
    'upload KB': Math.round(uploads[0].length / 1024),
    answers: [...run.answers].join(', '),
    's min': +Math.min(...run.seconds).toFixed(2),
    's median': +median(run.seconds).toFixed(2),
    'peak - warm MB': Math.round((run.peak - warmIdle) / MB),
    // Each run's reading, in order: growing from run to run is memory kept, not dead buffers.
    'after MB by run': run.afters.map((x) => Math.round(x / MB)).join(' '),
    'after / warm': +ratio.toFixed(2),
    [`<= ${BOUND}`]: ratio <= BOUND ? 'PASS' : 'FAIL',
  };
});
console.table(rows);
console.log(`load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await server.close();
process.exitCode = rows.every((r) => r[`<= ${BOUND}`] === 'PASS') ? 0 : 1;
