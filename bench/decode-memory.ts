// Decompression bombs sent concurrently to the real server (tiny checkpoint, shipped pipeline,
// 3 h cap), with the process RSS sampled every 10 ms: idle baseline, peak, and after (all
// answered, then 3 s), and the time to the last answer (min/median over --reps runs, cases
// interleaved run by run, since this machine is shared). Issue 11 at 5b77086: the 4 h FLAC took
// RSS 200 MB → 4.3 GB and kept it; four 1000 s 8-channel FLACs peaked at 8.4 GB and kept 5.2 GB.
// At 16e5182 (streamed decode, no length count) memory was bounded but the 4 h FLAC cost ~190 s
// of one core before its 400; the length count (stages/audio/source-length.ts) refuses it first.
// Measured 30 Nov (2 shared cores, load 3-6; at 16e5182 one run): 4 h FLAC 163.1 s → 0.13-0.16 s,
// as WAV 0xF1AC 167.1 s → 0.76-1.12 s, 4 at once 0.56-0.79 s (before: not run, ≥ 4 × 163 s).
//   node dist/bench/decode-memory.js [--reps N] [--only REGEX]
import { parseArgs } from 'node:util';
import { startTinyServer, TINY_MODEL_NAME } from '../test/fixtures/server/tiny-server.js';
import { buildConstantFlac, wavWrappedFlac } from '../test/fixtures/audio/flac-writer.js';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '3' }, only: { type: 'string' } } });
const MB = 2 ** 20;
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
const allCases: [string, Uint8Array[]][] = [
  ['4 h 48 kHz stereo FLAC, undeclared', [fourHours]],
  ['same stream as WAV 0xF1AC (ffmpeg)', [wavWrappedFlac(fourHours)]],
  ['4 x 4 h FLAC at once (3 h cap)', [fourHours, fourHours, fourHours, fourHours]],
  ['4 x 1000 s 8 ch 48 kHz FLAC at once', [wide, wide, wide, wide]],
  ['2 x 4 h FLAC + 2 x WAV 0xF1AC at once', [fourHours, fourHours, wavWrappedFlac(fourHours), wavWrappedFlac(fourHours)]],
];
const cases = allCases.filter(([name]) => !args.only || new RegExp(args.only).test(name));
await post(buildConstantFlac({ seconds: 2, declaredSamples: 0 })); // warm-up: workers, decoders, graphs
const idle = await settle();
const runs = new Map<string, { seconds: number[]; peak: number; after: number; answers: Set<string> }>();
for (let rep = 0; rep < Number(args.reps); rep++) {
  for (const [name, uploads] of cases) {
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const t0 = performance.now();
    const statuses = await Promise.all(uploads.map(post));
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    const after = await settle();
    const run = runs.get(name) ?? { seconds: [], peak: 0, after: 0, answers: new Set<string>() };
    run.seconds.push(seconds);
    run.peak = Math.max(run.peak, peak);
    run.after = Math.max(run.after, after);
    statuses.forEach((s) => run.answers.add(s));
    runs.set(name, run);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(`idle RSS ${Math.round(idle / MB)} MB (${process.version}), ${args.reps} runs per case`);
console.table(
  cases.map(([name, uploads]) => {
    const run = runs.get(name)!;
    return {
      case: name,
      'upload KB': Math.round(uploads[0].length / 1024),
      answers: [...run.answers].join(', '),
      's min': +Math.min(...run.seconds).toFixed(2),
      's median': +median(run.seconds).toFixed(2),
      'peak - idle MB': Math.round((run.peak - idle) / MB),
      'after - idle MB': Math.round((run.after - idle) / MB),
    };
  }),
);
await server.close();
