// Realtime transcription under load: N simulated speakers, each a WebSocket session
// on /v1/realtime streaming LibriVox utterances (Debian's pocketsphinx-testdata, or
// the two copied into test/fixtures/vad/librivox) at real time in 100 ms appends,
// 1.5 s of silence after each, turns found by the server's Silero VAD. The server
// runs in this process (pipelines/qwen3-asr.yaml, a made checkpoint of the chosen
// shape), so its CPU is this process's. Per N it reports:
//   end of speech → completed   (the speaker's last sample → the turn's transcript;
//                                includes the VAD's silence_duration_ms wait)
//   deltas during speech        (turns with a delta before speech_stopped; partials
//                                every --partial-interval-s of speech, partials.ts)
//   partial latency             (audio → delta: from the arrival of the last audio
//                                the delta's text was decoded from, to the delta;
//                                the server's histogram, quantiles interpolated)
//   speech start → first delta, end of speech → first delta, delta cadence
//   decoder tokens (prefilled + generated) per audio second, measured, and what
//                                re-decoding each turn from scratch every 2 s (the
//                                official recipe without KV reuse) would take
//   CPU per stream (cores); stability: failed turns, error events, sessions closed
//                                by the server (apart from those shed or refused
//                                because it was behind: load.ts, a capacity verdict
//                                that is counted and printed), turns whose deltas do not join to
//                                the completed text, RSS by quarter of the run and
//                                its growth over the second half. Turns of a shed
//                                session that were withdrawn (failed with
//                                server_overloaded) are counted apart, as the shed.
// Each N gets a server of its own, so what one level taught the server (partial
// back-off, its measured capacity) does not carry into the next.
// The machine is checked quiet first (bench/quiet.ts) and the verdict printed.
// Exit 3 when a turn failed, a session was dropped or deltas did not join.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { decodeWavSamples, readWavLayout } from '../stages/audio/wav.js';
import { Resampler } from '../stages/audio/resample.js';
import { benchCacheDir, parseScriptArgs, pipelineOverrides } from './args.js';
import { ensureRandomCheckpoint } from './peer-ours.js';
import { QuietMeter } from './quiet.js';

const USAGE = `Usage: node dist/bench/realtime.js [--sessions 1,8,32] [--duration-s 120] [--shape tiny|0.6b] [--model-path DIR] [--precision int8|fp32] [--partial-interval-s 2] [--server-log FILE]
       [--cache-dir DIR] [stages.decoder.nice=10 ...]
  Streams LibriVox speech at real time into N concurrent /v1/realtime sessions for --duration-s each
  and prints per-turn latency, partial (during-speech) delta latency, delta cadence, decoder tokens
  per audio second, CPU per stream and the run's stability (failures, dropped sessions, RSS).
  --partial-interval-s 0 turns partials off (deltas only after each turn).
  --server-log FILE appends the server's warnings (sessions shed, with the load's figures) as pino JSON.
  A shape's random checkpoint and its graphs are kept in the bench cache (--cache-dir or SGL_OMNI_BENCH_CACHE);
  key=value arguments override the pipeline (pipelines/qwen3-asr.yaml).`;

const { values, positionals } = parseScriptArgs(USAGE, {
  allowPositionals: true,
  options: {
    sessions: { type: 'string', default: '1,8,32' },
    'duration-s': { type: 'string', default: '120' },
    shape: { type: 'string', default: 'tiny' },
    'model-path': { type: 'string' },
    precision: { type: 'string', default: 'int8' },
    'partial-interval-s': { type: 'string', default: '2' },
    'server-log': { type: 'string' },
    'cache-dir': { type: 'string' },
  },
});
const counts = values.sessions!.split(',').map(Number);
/** key=value arguments, checked before any work. */
const extraOverrides = pipelineOverrides(USAGE, positionals);
const durationS = Number(values['duration-s']);
const CHUNK_MS = 100;
const GAP_S = 1.5;
/** Audio tokens per second the encoder gives the decoder (30 s → 390). */
const AUDIO_TOKENS_PER_S = 13;
const RECIPE_CHUNK_S = 2;

function clips(): { name: string; pcm: Buffer; seconds: number }[] {
  const system = '/usr/share/pocketsphinx/test/data/librivox';
  const dir = fs.existsSync(system) ? system : path.join(repoRoot(), 'test/fixtures/vad/librivox');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.wav')).sort().map((f) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    const layout = readWavLayout(bytes);
    const r = new Resampler(layout.sampleRate, 24_000);
    const up = r.push(decodeWavSamples(bytes, layout)[0]);
    const pcm = Buffer.alloc(up.length * 2);
    up.forEach((v, i) => pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), 2 * i));
    return { name: f, pcm, seconds: up.length / 24_000 };
  });
}

interface Turn { item: string; startedAt: number; endOfSpeech?: number; stoppedAt?: number; deltas: number[]; text: string[]; transcript?: string; completedAt?: number; failed?: boolean; withdrawn?: boolean; seconds?: number }
interface Run { turns: Turn[]; errors: string[]; dropped: number; shed: number }

/** One speaker: streams clips and gaps at real time until `until`; records its turns. */
async function speaker(who: number, url: string, audio: Buffer, until: number, run: Run): Promise<void> {
  const { turns, errors } = run;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let closing = false;
  // Shed or refused because the server is behind (load.ts): told so, closed with 1013 once its turns are answered.
  let shed = false;
  ws.once('close', (code: number) => void (closing || (shed && code === 1013) || (run.dropped++, errors.push(`session closed by the server: ${code}`))));
  const started = performance.now();
  const byItem = new Map<string, Turn>();
  ws.on('message', (data: Buffer) => {
    const e = JSON.parse(data.toString()) as Record<string, unknown> & { type: string; item_id?: string };
    const now = performance.now();
    const turn = e.item_id === undefined ? undefined : byItem.get(e.item_id);
    if (e.type === 'input_audio_buffer.speech_started') {
      const begun: Turn = { item: e.item_id!, startedAt: now, deltas: [], text: [] };
      byItem.set(begun.item, begun);
      turns.push(begun);
    } else if (e.type === 'input_audio_buffer.speech_stopped' && turn) {
      // audio positions are send times: the stream is paced at real time from `started`
      Object.assign(turn, { endOfSpeech: started + ((e.audio_end_ms as number) - 100), stoppedAt: now });
    } else if (e.type === 'conversation.item.input_audio_transcription.delta' && turn) {
      turn.deltas.push(now);
      turn.text.push(e.delta as string);
    } else if (e.type === 'conversation.item.input_audio_transcription.completed' && turn) {
      Object.assign(turn, { completedAt: now, seconds: (e.usage as { seconds: number }).seconds, transcript: e.transcript });
    } else if (e.type === 'conversation.item.input_audio_transcription.failed' && shed && (e.error as { code?: string }).code === 'server_overloaded') {
      if (turn) turn.withdrawn = true;
    } else if (e.type === 'conversation.item.input_audio_transcription.failed') {
      if (turn) turn.failed = true;
      errors.push(JSON.stringify(e.error));
    } else if (e.type === 'error' && (e.error as { code?: string }).code === 'server_overloaded') {
      shed = true;
      run.shed++;
    } else if (e.type === 'error') errors.push(JSON.stringify(e.error));
  });
  const step = 48 * CHUNK_MS;
  // Each speaker starts at its own place and each pass over the clips gets its own gain, so no
  // two turns carry the same samples: the encoder's and decoder's caches must not hit across them.
  const chunk = Buffer.alloc(step);
  for (let at = (who * 37 * step) % audio.length, n = 0, pass = 0; performance.now() < until && !shed; n++) {
    const gain = 1 - 0.003 * ((who * 31 + pass) % 97);
    for (let i = 0; i < step; i += 2) chunk.writeInt16LE(Math.round(audio.readInt16LE((at + i) % audio.length) * gain), i);
    ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: chunk.toString('base64') }));
    at += step;
    if (at >= audio.length) (at -= audio.length), pass++;
    const due = started + (n + 1) * CHUNK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  // the last turn: silence long enough for the VAD to end it, then wait for its transcript
  for (let i = 0; i < 10 && !shed; i++) ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(step).toString('base64') }));
  const deadline = performance.now() + 60_000;
  const answered = (t: Turn) => t.completedAt || t.failed || t.withdrawn;
  while (ws.readyState === ws.OPEN && turns.some((t) => byItem.has(t.item) && t.stoppedAt && !answered(t)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  closing = true;
  ws.close();
}

const stat = (xs: number[]) => {
  if (xs.length === 0) return 'n/a';
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `p50 ${q(0.5).toFixed(0)} / p90 ${q(0.9).toFixed(0)} / max ${s[s.length - 1].toFixed(0)} ms`;
};

async function metricValue(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** The cumulative buckets of a histogram in /metrics: upper bound (le) → count. */
async function histogram(base: string, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<number, number>();
  for (const line of text.split('\n').filter((l) => l.startsWith(`${name}_bucket{`))) {
    const le = /le="([^"]+)"/.exec(line)![1];
    out.set(le === '+Inf' ? Infinity : Number(le), Number(line.split(' ').pop()));
  }
  return out;
}

/** Quantiles of the observations between two readings of a histogram, linear within a bucket. */
function histogramStat(before: Map<number, number>, after: Map<number, number>): string {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => after.get(b)! - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total === 0) return 'n/a (no partial delta)';
  const q = (p: number) => {
    const i = counts.findIndex((c) => c >= p * total);
    const lo = i === 0 ? 0 : bounds[i - 1];
    const below = i === 0 ? 0 : counts[i - 1];
    if (bounds[i] === Infinity) return `>${lo * 1000}`;
    return (1000 * (lo + ((bounds[i] - lo) * (p * total - below)) / Math.max(1, counts[i] - below))).toFixed(0);
  };
  return `p50 ${q(0.5)} / p90 ${q(0.9)} ms over ${total} deltas (bucket-interpolated)`;
}

const meter = new QuietMeter();
console.log(await meter.banner());
const cache = benchCacheDir(values['cache-dir']);
const modelPath = values['model-path'] ?? path.join(cache, `qwen3-asr-${values.shape}-random`);
if (!values['model-path']) await ensureRandomCheckpoint(values.shape as CheckpointSize, modelPath, (m) => process.stderr.write(`${m}\n`));
process.env.SGL_OMNI_REALTIME_MAX_SESSIONS = String(Math.max(...counts) + 1);
process.env.SGL_OMNI_REALTIME_PARTIAL_INTERVAL_S = values['partial-interval-s'];
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
  overrides: [
    ['stages.encoder.options.precision', values.precision!],
    ['stages.decoder.options.precision', values.precision!],
    ...extraOverrides,
  ],
});
/** A fresh pipeline and server for one level. */
async function serve(): Promise<{ base: string; close(): Promise<void> }> {
  const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(cache, 'graphs') });
  const file = values['server-log'];
  const app = await buildServer({ pipeline, servedModelNames: ['bench'], logger: file ? { level: 'warn', file } : false });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  await pipeline.ready();
  return { base, close: async () => (await app.close(), await pipeline.close()) };
}
const audio = Buffer.concat(clips().flatMap((c) => [c.pcm, Buffer.alloc(GAP_S * 48_000)]));
console.log(`model: ${modelPath} (${values.precision}${positionals.length ? `; ${positionals.join(' ')}` : ''}); clips: ${clips().length} LibriVox utterances + ${GAP_S} s gaps, looped; ${durationS} s per run, a server of its own per run`);

let failedRuns = 0;
const partialOutcomes = ['completed', 'skipped', 'failed', 'cancelled'] as const;
for (const n of counts) {
  const server = await serve();
  const { base } = server;
  const partialCounts = async () => Promise.all(partialOutcomes.map((o) => metricValue(base, `sgl_omni_realtime_partials_total{outcome="${o}"}`)));
  const run: Run = { turns: [], errors: [], dropped: 0, shed: 0 };
  const { turns, errors } = run;
  const worker = async () => Promise.all(['decode_steps', 'generated_tokens', 'prefill_tokens'].map((m) => metricValue(base, `sgl_omni_worker_${m}`)));
  const workerBefore = await worker();
  const partialsBefore = await partialCounts();
  const latencyBefore = await histogram(base, 'sgl_omni_realtime_partial_delta_seconds');
  const rss: number[] = [process.memoryUsage().rss];
  const rssTimer = setInterval(() => rss.push(process.memoryUsage().rss), 1000);
  const cpuBefore = process.cpuUsage();
  let startedAt = 0;
  const { quiet } = await meter.measure(async () => {
    startedAt = performance.now();
    const until = startedAt + durationS * 1000;
    await Promise.all(Array.from({ length: n }, (_, who) => speaker(who, `${base.replace('http', 'ws')}/v1/realtime?model=bench`, audio, until, run)));
  });
  clearInterval(rssTimer);
  rss.push(process.memoryUsage().rss);
  const cpu = process.cpuUsage(cpuBefore);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the decoder publishes its counters once a second
  const [steps, generated, prefilled] = (await worker()).map((v, i) => v - workerBefore[i]);
  const partials = (await partialCounts()).map((v, i) => `${v - partialsBefore[i]} ${partialOutcomes[i]}`).join(', ');
  const latency = histogramStat(latencyBefore, await histogram(base, 'sgl_omni_realtime_partial_delta_seconds'));
  const ended = turns.filter((t) => t.stoppedAt);
  const done = ended.filter((t) => t.completedAt);
  const failed = ended.filter((t) => t.failed).length;
  const withdrawn = ended.filter((t) => t.withdrawn).length;
  const lost = ended.length - done.length - failed - withdrawn;
  const unjoined = done.filter((t) => t.text.join('') !== t.transcript).length;
  const during = done.filter((t) => t.deltas.some((d) => d < t.stoppedAt!)).length;
  const audioS = done.reduce((sum, t) => sum + (t.seconds ?? 0), 0);
  // Decoder tokens (prefilled + generated) per audio second, as run (partials, final decodes, probes).
  // From scratch every 2 s (the official recipe without KV reuse): a turn of D s is decoded at 2, 4, … s
  // and at its end, each pass prefilling its audio so far and generating its text so far (text ∝ audio).
  const genPerS = generated / Math.max(1, audioS);
  const asRun = (prefilled + generated) / Math.max(1, audioS);
  const once = AUDIO_TOKENS_PER_S + genPerS;
  const scratch = done.reduce((sum, t) => {
    const d = t.seconds ?? 0;
    let cost = 0;
    for (let k = RECIPE_CHUNK_S; k < d; k += RECIPE_CHUNK_S) cost += k * once;
    return sum + cost + d * once;
  }, 0) / Math.max(1, audioS);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  const quarter = (f: number) => mb(rss[Math.min(rss.length - 1, Math.round(f * (rss.length - 1)))]);
  const half = rss.slice(Math.floor(rss.length / 2));
  console.log(`\nN=${n}: ${ended.length} turns, ${done.length} completed, ${failed} failed, ${lost} without an answer, ${run.dropped} sessions dropped, ${run.shed} shed or refused as the server fell behind (${n - run.shed} served to the end; ${withdrawn} turns of theirs withdrawn), ${errors.length} errors${errors.length ? ` (first: ${errors[0]})` : ''}; machine ${quiet.disturbed ? `DISTURBED (others used ${quiet.otherCores.toFixed(2)} cores)` : 'quiet'}`);
  console.log(`  deltas joined = completed: ${done.length - unjoined}/${done.length} turns; deltas during speech: ${during}/${done.length} turns; partials: ${partials}`);
  console.log(`  partial latency (audio → delta): ${latency}`);
  console.log(`  end of speech → completed: ${stat(done.map((t) => t.completedAt! - t.endOfSpeech!))}`);
  console.log(`  speech_stopped → completed: ${stat(done.map((t) => t.completedAt! - t.stoppedAt!))}`);
  // Once the server has shed what it cannot serve (load.ts), the turns of the sessions left show its steady state.
  const late = done.filter((t) => t.endOfSpeech! >= startedAt + (durationS * 1000) / 2);
  console.log(`  second half of the run (${late.length} turns): end of speech → completed ${stat(late.map((t) => t.completedAt! - t.endOfSpeech!))}`);
  console.log(`  speech start → first delta: ${stat(done.filter((t) => t.deltas.length).map((t) => t.deltas[0] - t.startedAt))}`);
  const afterEnd = done.flatMap((t) => t.deltas.filter((d) => d >= t.endOfSpeech!).slice(0, 1).map((d) => d - t.endOfSpeech!));
  console.log(`  end of speech → first delta after it: ${stat(afterEnd)}`);
  console.log(`  delta cadence: ${stat(done.flatMap((t) => t.deltas.slice(1).map((d, i) => d - t.deltas[i])))}`);
  console.log(`  decoder: ${steps} batched steps; ${prefilled} tokens prefilled + ${generated} generated for ${audioS.toFixed(0)} s of turns = ${asRun.toFixed(1)} per audio second vs ~${scratch.toFixed(1)} re-decoding from scratch every ${RECIPE_CHUNK_S} s (${(scratch / Math.max(asRun, 1e-9)).toFixed(1)}x; estimated on the same turns) and ${once.toFixed(1)} decoding each turn once`);
  console.log(`  CPU: ${((cpu.user + cpu.system) / 1e6 / (quiet.wallMs / 1000) / n).toFixed(3)} cores per stream (${((cpu.user + cpu.system) / 1e6 / (quiet.wallMs / 1000)).toFixed(2)} in all)`);
  // The decoder's KV prefix cache fills up to prefix_cache_mb with the prompts of partials: growth it explains is bounded.
  const prefixCache = await metricValue(base, 'sgl_omni_worker_prefix_cache_bytes');
  // The main thread's share (server and these simulated clients): its V8 heap grows until a major collection.
  const main = process.memoryUsage();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const afterGc = process.memoryUsage();
  console.log(`  RSS by quarter: ${[0, 0.25, 0.5, 0.75, 1].map(quarter).join(' / ')} MB, peak ${mb(Math.max(...rss))} MB; growth over the second half ${mb(half[half.length - 1] - Math.min(...half))} MB; decoder prefix cache ${mb(prefixCache)} MB at the end`);
  console.log(`  main thread at the end: heap used ${mb(main.heapUsed)} MB of ${mb(main.heapTotal)}, array buffers ${mb(main.arrayBuffers)} MB${gc ? `; after a collection (node --expose-gc): heap used ${mb(afterGc.heapUsed)} MB, RSS ${mb(afterGc.rss)} MB` : ''}`);
  if (failed || lost || run.dropped || unjoined) failedRuns++;
  await server.close();
}
console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
if (failedRuns) {
  console.log(`${failedRuns} run(s) had failed or unanswered turns, dropped sessions or deltas that do not join: exit 3`);
  process.exitCode = 3;
}
