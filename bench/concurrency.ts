// Throughput of the whole Qwen3-ASR pipeline (decode → resample → mel → encoder
// → decoder with continuous batching) at several concurrency levels, in one run,
// through the HTTP server (POST /v1/audio/transcriptions, as clients see it) or
// straight into the pipeline (--via pipeline),
// against the real-shape random 0.6B checkpoint (generated into the bench cache,
// bench/args.ts benchCacheDir, when missing). Each request carries different audio (a slightly different gain of
// the same speech), so the encoder's fingerprint cache cannot short-cut it.
// Reports requests/s, audio s/s, latency and RTF (mean, p95) and each level's
// speedup over concurrency 1; then, from the counters the encoder and decoder
// stages publish (Pipeline.stageMetrics), generated tokens per second over the
// wall time, over the decoder's decode-step time and over its decode + prefill
// time, the mean decode batch, where the encoder's time went, and each level's
// speedup against the ideal its kernel times allow. Each level
// records the CPU other processes took while it ran (bench/quiet.ts); speedups
// involving a disturbed level are refused, with the reason.
// Usage: node dist/bench/concurrency.js [--levels 1,4,8,16,32] [--requests N] [--precision int8]
//        [--model-path DIR] [--clip WAV] [--max-new-tokens N] [--via http|pipeline] [--response-format json|verbose_json]
//        [--cache-dir DIR] [--max-other-cores 0.1] [stages.decoder.options.max_running=8 ...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Override } from '../src/config/document.js';
import { createProgress } from '../src/util/progress.js';
import type { StageMetrics } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { buildWav } from '../test/fixtures/audio/wav-writer.js';
import { benchCacheDir, parseScriptArgs, pipelineOverrides } from './args.js';
import { ensureRandomCheckpoint } from './peer-ours.js';
import { QuietMeter, type QuietReading } from './quiet.js';

const USAGE = `Usage: node dist/bench/concurrency.js [--levels 1,4,8,16,32] [--requests N] [--precision int8]
       [--model-path DIR] [--clip WAV] [--max-new-tokens N] [--via http|pipeline] [--response-format json|verbose_json]
       [--cache-dir DIR] [--max-other-cores 0.1] [stages.decoder.options.max_running=8 ...]
Throughput, latency and RTF of the Qwen3-ASR pipeline at each concurrency level, with speedups over level 1.`;
const { values, positionals } = parseScriptArgs(USAGE, {
  allowPositionals: true,
  options: {
    levels: { type: 'string', default: '1,4,8,16,32' },
    requests: { type: 'string' },
    precision: { type: 'string', default: 'int8' },
    'model-path': { type: 'string' },
    clip: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    via: { type: 'string', default: 'http' },
    'response-format': { type: 'string', default: 'json' },
    'cache-dir': { type: 'string' },
    'max-other-cores': { type: 'string', default: '0.1' },
  },
});
const root = repoRoot();
/** key=value arguments, checked before any work. */
const extraOverrides = pipelineOverrides(USAGE, positionals);
const levels = values.levels.split(',').map(Number);
const cache = benchCacheDir(values['cache-dir']);
const modelPath = path.resolve(values['model-path'] ?? path.join(cache, 'qwen3-asr-0.6b-random'));
const clipPath = values.clip ?? path.join(root, 'test/fixtures/audio/jfk.wav');
const maxNewTokens = values['max-new-tokens'] ? Number(values['max-new-tokens']) : undefined;
/** json (the API's default) or verbose_json, which also makes the model compute token logprobs. */
const responseFormat = values['response-format'];
if (responseFormat !== 'json' && responseFormat !== 'verbose_json') throw new Error('--response-format must be json or verbose_json');
/** Requests at level c: at least 4, and at least c so every level fills its concurrency. */
const requestsAt = (c: number) => (values.requests ? Number(values.requests) : Math.max(4, c));

console.log(`cache: ${cache} (checkpoint and converted graphs; --cache-dir or SGL_OMNI_BENCH_CACHE to move it)`);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
console.log(await meter.banner());
if (!values['model-path']) await ensureRandomCheckpoint('0.6b', modelPath, (m) => process.stderr.write(`${m}\n`));

const overrides: Override[] = [
  ['stages.encoder.options.precision', values.precision],
  ['stages.decoder.options.precision', values.precision],
  ['admission.max_running', String(Math.max(...levels))],
  ...extraOverrides,
];
const resolved = await loadPipelineConfig(path.join(root, 'pipelines/qwen3-asr.yaml'), { overrides });
const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(cache, 'graphs') });
process.stderr.write(`loading ${path.basename(modelPath)} (${values.precision}; a first run converts the graphs)…\n`);
await pipeline.ready();
const server = values.via === 'http' ? await buildServer({ pipeline, servedModelNames: ['bench'] }) : undefined;
const url = server && `${await server.listen({ port: 0, host: '127.0.0.1' })}/v1/audio/transcriptions`;

const speech = (await decodeAudio(fs.readFileSync(clipPath), { maxDurationS: 3600 })).channels[0];
const clipSeconds = speech.length / 16000;

/** Request i's upload: the clip as 32-bit float WAV at gain 1 - i/10000 (same speech, new fingerprint). */
function upload(i: number): ArrayBuffer {
  const gain = 1 - i / 10000;
  const samples = Float32Array.from(speech, (x) => x * gain);
  const wav = buildWav({ formatTag: 3, channels: 1, sampleRate: 16000, bits: 32, data: new Uint8Array(samples.buffer) });
  return wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength) as ArrayBuffer;
}

interface Done { latencyS: number }

/** Request i, over HTTP or straight into the pipeline. */
async function send(i: number): Promise<void> {
  if (url) {
    const form = new FormData();
    form.append('file', new Blob([upload(i)], { type: 'audio/wav' }), 'clip.wav');
    form.append('model', 'bench');
    form.append('response_format', responseFormat);
    if (maxNewTokens) form.append('max_new_tokens', String(maxNewTokens));
    const res = await fetch(url, { method: 'POST', body: form });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return;
  }
  const params = { temperature: 0, stream: false, response_format: responseFormat, logprobs: responseFormat === 'verbose_json' };
  await pipeline.submit({ audio: upload(i), filename: 'clip.wav', contentType: 'audio/wav', params: { ...params, ...(maxNewTokens ? { max_new_tokens: maxNewTokens } : {}) } });
}

async function transcribe(i: number): Promise<Done> {
  const t0 = performance.now();
  await send(i);
  return { latencyS: (performance.now() - t0) / 1000 };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

let next = 0;
await transcribe(next++); // warm-up: first-run allocations and JIT are not part of any level

/** Counters of the encoder and decoder stages; they publish after each item, so a short pause lets the last ones land. */
async function counters(): Promise<{ encoder: StageMetrics; decoder: StageMetrics }> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  const all = pipeline.stageMetrics?.() ?? {};
  return { encoder: all.encoder ?? {}, decoder: all.decoder ?? {} };
}
const delta = (after: StageMetrics, before: StageMetrics, name: string) => (after[name] ?? 0) - (before[name] ?? 0);
const ratio = (x: number, base: number | undefined) => (base ? `${(x / base).toFixed(2)}x` : '-');
/** A speedup of level l over the base level, or 'refused' when either ran disturbed. */
const speedup = (l: Level, b: Level, f: (x: Level) => number) => (l.quiet.disturbed || b.quiet.disturbed ? 'refused' : ratio(f(l), f(b)));

interface Level {
  c: number;
  n: number;
  wallS: number;
  latencies: number[];
  tokens: number;
  enc: (name: string) => number;
  dec: (name: string) => number;
  quiet: QuietReading;
}

const levelsRun: Level[] = [];
for (const c of levels) {
  const n = requestsAt(c);
  const progress = createProgress();
  progress.start(`concurrency ${c}: ${n} requests`, n);
  const results: Done[] = [];
  let issued = 0;
  const before = await counters();
  const lane = async () => {
    while (issued < n) {
      issued++;
      results.push(await transcribe(next++));
      progress.tick();
    }
  };
  const { quiet } = await meter.measure(() => Promise.all(Array.from({ length: c }, lane)));
  const wallS = quiet.wallMs / 1000;
  progress.stop();
  const after = await counters();
  levelsRun.push({
    c,
    n,
    wallS,
    latencies: results.map((r) => r.latencyS),
    tokens: delta(after.decoder, before.decoder, 'generated_tokens'),
    enc: (name) => delta(after.encoder, before.encoder, name),
    dec: (name) => delta(after.decoder, before.decoder, name),
    quiet,
  });
}
await server?.close();
await pipeline.close();

const base = levelsRun[0];
const rps = (l: Level) => l.n / l.wallS;
const wallTps = (l: Level) => l.tokens / l.wallS;
/** Generated tokens over the time of the decode steps that produced them (prefill's first tokens excluded). */
const stepTps = (l: Level) => l.dec('decode_rows') / (l.dec('decode_ms') / 1000);
/** Every generated token over decode + prefill time: the decoder's own throughput. */
const decoderTps = (l: Level) => l.dec('generated_tokens') / ((l.dec('decode_ms') + l.dec('prefill_ms')) / 1000);

console.log(`\nQwen3-ASR ${url ? 'over HTTP' : 'pipeline.submit'}, ${path.basename(modelPath)} ${values.precision}, clip ${path.basename(clipPath)} (${clipSeconds.toFixed(1)} s), ${os.cpus().length} cores`);
console.table(
  levelsRun.map((l) => {
    const rtfs = l.latencies.map((x) => x / clipSeconds);
    return {
      concurrency: l.c,
      requests: l.n,
      'wall s': l.wallS.toFixed(1),
      'req/s': rps(l).toFixed(3),
      'audio s/s': (rps(l) * clipSeconds).toFixed(2),
      'latency mean s': mean(l.latencies).toFixed(2),
      'latency p95 s': p95(l.latencies).toFixed(2),
      'RTF mean': mean(rtfs).toFixed(3),
      'RTF p95': p95(rtfs).toFixed(3),
      'speedup req/s': speedup(l, base, rps),
      'others cores': `${l.quiet.otherCores.toFixed(2)}${l.quiet.disturbed ? ' DISTURBED' : ''}`,
    };
  }),
);
console.log('Where the time went (stage counters over each level):');
console.table(
  levelsRun.map((l) => ({
    concurrency: l.c,
    'tokens': l.tokens,
    'tok/s wall': wallTps(l).toFixed(1),
    'tok/s decode steps': stepTps(l).toFixed(1),
    'tok/s decode+prefill': decoderTps(l).toFixed(1),
    'mean batch': (l.dec('decode_rows') / l.dec('decode_steps')).toFixed(2),
    'decode s': (l.dec('decode_ms') / 1000).toFixed(1),
    'prefill s': (l.dec('prefill_ms') / 1000).toFixed(1),
    'sample s': (l.dec('sample_ms') / 1000).toFixed(2),
    'decoder busy s': (l.dec('busy_ms') / 1000).toFixed(1),
    'encoder s': (l.enc('encode_ms') / 1000).toFixed(1),
    'clips/encoder run': (l.enc('encoded_clips') / l.enc('encode_calls')).toFixed(2),
    'speedup wall': speedup(l, base, wallTps),
    'speedup steps': speedup(l, base, stepTps),
    'speedup decoder': speedup(l, base, decoderTps),
  })),
);
for (const l of levelsRun.filter((x) => x.quiet.disturbed)) {
  console.log(`concurrency ${l.c}: refused, disturbed run: other processes used ${l.quiet.otherCores.toFixed(2)} cores (limit ${meter.maxOtherCores}) over its ${l.wallS.toFixed(0)} s`);
}
/**
 * What a level's speedup over level 1 would be if only the kernels took time: each request's
 * encoder, prefill and sampling time as level 1 measured them (batching does not make them
 * cheaper on a CPU), plus the decode-step time per request this level's batches took. The
 * measured speedup over that ideal is how much of it the scheduling keeps (the batching issue
 * measured 92 % at c8).
 */
function idealSpeedup(l: Level, b: Level): number {
  const serial = (b.enc('encode_ms') + b.dec('prefill_ms') + b.dec('sample_ms')) / b.n;
  return (serial + b.dec('decode_ms') / b.n) / (serial + l.dec('decode_ms') / l.n);
}
console.log('Against the kernels (ideal: level 1\'s encoder + prefill + sampling per request, this level\'s decode steps per request):');
console.table(
  levelsRun.filter((l) => l !== base).map((l) => {
    const ideal = idealSpeedup(l, base);
    const measured = rps(l) / rps(base);
    const refused = l.quiet.disturbed || base.quiet.disturbed;
    return {
      concurrency: l.c,
      'ideal speedup': `${ideal.toFixed(2)}x`,
      'measured speedup': refused ? 'refused' : `${measured.toFixed(2)}x`,
      'of ideal': refused ? 'refused' : `${((100 * measured) / ideal).toFixed(0)} %`,
    };
  }),
);
const at8 = levelsRun.find((l) => l.c === 8);
if (at8 && base.c === 1 && !at8.quiet.disturbed && !base.quiet.disturbed) {
  console.log(
    `issue #4 (≥ 3x decoder tokens/s at concurrency 8 vs 1): ${ratio(wallTps(at8), wallTps(base))} over wall time, ` +
      `${ratio(stepTps(at8), stepTps(base))} over decode-step time, ${ratio(decoderTps(at8), decoderTps(base))} over decode + prefill time`,
  );
}
