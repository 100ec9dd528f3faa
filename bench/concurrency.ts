// Throughput of the whole Qwen3-ASR pipeline (decode → resample → mel → encoder
// → decoder with continuous batching) at several concurrency levels, in one run,
// through the HTTP server (POST /v1/audio/transcriptions, as clients see it) or
// straight into the pipeline (--via pipeline),
// against the real-shape random 0.6B checkpoint (generated into ./.cache/ when
// missing). Each request carries different audio (a slightly different gain of
// the same speech), so the encoder's fingerprint cache cannot short-cut it.
// Reports requests/s, audio s/s, latency and RTF (mean, p95), aggregate decoder
// tokens/s, and each level's speedup over concurrency 1.
// Usage: node dist/bench/concurrency.js [--levels 1,4,8,16,32] [--requests N] [--precision int8]
//        [--model-path DIR] [--clip WAV] [--max-new-tokens N] [--via http|pipeline]
//        [stages.decoder.options.max_running=8 ...]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Override } from '../src/config/document.js';
import { createProgress } from '../src/eval/progress.js';
import type { Payload } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { buildWav } from '../test/fixtures/audio/wav-writer.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    levels: { type: 'string', default: '1,4,8,16,32' },
    requests: { type: 'string' },
    precision: { type: 'string', default: 'int8' },
    'model-path': { type: 'string' },
    clip: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    via: { type: 'string', default: 'http' },
  },
});
const root = repoRoot();
const levels = values.levels.split(',').map(Number);
const modelPath = path.resolve(values['model-path'] ?? path.join(root, '.cache/qwen3-asr-0.6b-random'));
const clipPath = values.clip ?? path.join(root, 'test/fixtures/audio/jfk.wav');
const maxNewTokens = values['max-new-tokens'] ? Number(values['max-new-tokens']) : undefined;
/** Requests at level c: at least 4, and at least c so every level fills its concurrency. */
const requestsAt = (c: number) => (values.requests ? Number(values.requests) : Math.max(4, c));

if (!fs.existsSync(path.join(modelPath, 'config.json'))) {
  const progress = createProgress();
  progress.start(`generating random 0.6B checkpoint in ${modelPath}`, 100);
  let shown = 0;
  await makeCheckpoint({ size: '0.6b', out: modelPath, seed: 0, onProgress: (done, total) => { for (; shown < Math.floor((done / total) * 100); shown++) progress.tick(); } });
  progress.stop();
}

const overrides: Override[] = [
  ['stages.encoder.options.precision', values.precision],
  ['stages.decoder.options.precision', values.precision],
  ['admission.max_running', String(Math.max(...levels))],
  ...positionals.map((o) => o.split('=', 2) as Override),
];
const resolved = await loadPipelineConfig(path.join(root, 'pipelines/qwen3-asr.yaml'), { overrides });
const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(root, '.cache/graphs') });
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

interface Done { latencyS: number; tokens: number }

/** Final segments of request i, over HTTP (verbose_json) or from the pipeline. */
async function segmentsOf(i: number): Promise<{ tokens: number[] }[]> {
  if (url) {
    const form = new FormData();
    form.append('file', new Blob([upload(i)], { type: 'audio/wav' }), 'clip.wav');
    form.append('model', 'bench');
    form.append('response_format', 'verbose_json');
    if (maxNewTokens) form.append('max_new_tokens', String(maxNewTokens));
    const res = await fetch(url, { method: 'POST', body: form });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { segments: { tokens: number[] }[] }).segments;
  }
  const input: Payload = {
    audio: upload(i),
    filename: 'clip.wav',
    contentType: 'audio/wav',
    params: { temperature: 0, stream: false, response_format: 'json', ...(maxNewTokens ? { max_new_tokens: maxNewTokens } : {}) },
  };
  return (await pipeline.submit(input)).segments as { tokens: number[] }[];
}

async function transcribe(i: number): Promise<Done> {
  const t0 = performance.now();
  const segments = await segmentsOf(i);
  return { latencyS: (performance.now() - t0) / 1000, tokens: segments.reduce((n, s) => n + s.tokens.length, 0) };
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

let next = 0;
await transcribe(next++); // warm-up: first-run allocations and JIT are not part of any level

const rows: Record<string, string | number>[] = [];
let base: { rps: number; tps: number } | undefined;
for (const c of levels) {
  const n = requestsAt(c);
  const progress = createProgress();
  progress.start(`concurrency ${c}: ${n} requests`, n);
  const results: Done[] = [];
  let issued = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (issued < n) {
      issued++;
      results.push(await transcribe(next++));
      progress.tick();
    }
  };
  await Promise.all(Array.from({ length: c }, lane));
  const wallS = (performance.now() - t0) / 1000;
  progress.stop();
  const latencies = results.map((r) => r.latencyS);
  const rtfs = latencies.map((l) => l / clipSeconds);
  const rps = n / wallS;
  const tps = results.reduce((s, r) => s + r.tokens, 0) / wallS;
  base ??= { rps, tps };
  rows.push({
    concurrency: c,
    requests: n,
    'wall s': wallS.toFixed(1),
    'req/s': rps.toFixed(3),
    'audio s/s': (rps * clipSeconds).toFixed(2),
    'latency mean s': mean(latencies).toFixed(2),
    'latency p95 s': p95(latencies).toFixed(2),
    'RTF mean': mean(rtfs).toFixed(3),
    'RTF p95': p95(rtfs).toFixed(3),
    'decoder tok/s': tps.toFixed(1),
    'speedup req/s': `${(rps / base.rps).toFixed(2)}x`,
    'speedup tok/s': `${(tps / base.tps).toFixed(2)}x`,
  });
}
await server?.close();
await pipeline.close();

console.log(`\nQwen3-ASR ${url ? 'over HTTP' : 'pipeline.submit'}, ${path.basename(modelPath)} ${values.precision}, clip ${path.basename(clipPath)} (${clipSeconds.toFixed(1)} s), ${os.cpus().length} cores`);
console.table(rows);
const at8 = rows.find((r) => r.concurrency === 8);
if (at8 && base) console.log(`decoder tokens/s at concurrency 8 vs 1: ${at8['speedup tok/s']} (issue #4 asks for ≥ 3x)`);
