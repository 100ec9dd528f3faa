// Realtime transcription under load: N simulated speakers, each a WebSocket session
// on /v1/realtime streaming LibriVox utterances (Debian's pocketsphinx-testdata, or
// the two copied into test/fixtures/vad/librivox) at real time in 100 ms appends,
// 1.5 s of silence after each, turns found by the server's Silero VAD. The server
// runs in this process (pipelines/qwen3-asr.yaml, a made checkpoint of the chosen
// shape), so its CPU is this process's. Per N it reports:
//   end of speech → completed   (the speaker's last sample → the turn's transcript;
//                                includes the VAD's silence_duration_ms wait)
//   end of speech → first delta
//   delta cadence               (ms between consecutive deltas of a turn)
//   decode steps per audio second, measured, and what re-decoding each turn from
//                                scratch every 2 s (the official streaming recipe
//                                without KV reuse) would take on the same turns
//   CPU per stream (cores), RSS at start / peak / end, failed turns and errors.
// The machine is checked quiet first (bench/quiet.ts) and the verdict printed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { decodeWavSamples, readWavLayout } from '../stages/audio/wav.js';
import { Resampler } from '../stages/audio/resample.js';
import { parseScriptArgs } from './args.js';
import { QuietMeter } from './quiet.js';

const USAGE = `Usage: node dist/bench/realtime.js [--sessions 1,8,32] [--duration-s 120] [--shape tiny|0.6b] [--model-path DIR] [--precision int8|fp32]
  Streams LibriVox speech at real time into N concurrent /v1/realtime sessions for --duration-s each
  and prints per-turn latency, delta cadence, decode steps per audio second and CPU per stream.`;

const { values } = parseScriptArgs(USAGE, {
  options: {
    sessions: { type: 'string', default: '1,8,32' },
    'duration-s': { type: 'string', default: '120' },
    shape: { type: 'string', default: 'tiny' },
    'model-path': { type: 'string' },
    precision: { type: 'string', default: 'int8' },
  },
});
const counts = values.sessions!.split(',').map(Number);
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

interface Turn { item: string; endOfSpeech: number; stoppedAt?: number; deltas: number[]; completedAt?: number; failed?: boolean; seconds?: number }

/** One speaker: streams clips and gaps at real time until `until`; records its turns. */
async function speaker(url: string, audio: Buffer, until: number, turns: Turn[], errors: string[]): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  const started = performance.now();
  const byItem = new Map<string, Turn>();
  ws.on('message', (data: Buffer) => {
    const e = JSON.parse(data.toString()) as Record<string, unknown> & { type: string; item_id?: string };
    const now = performance.now();
    if (e.type === 'input_audio_buffer.speech_stopped') {
      // audio positions are send times: the stream is paced at real time from `started`
      const turn: Turn = { item: e.item_id!, endOfSpeech: started + ((e.audio_end_ms as number) - 100), stoppedAt: now, deltas: [] };
      byItem.set(turn.item, turn);
      turns.push(turn);
    } else if (e.type === 'conversation.item.input_audio_transcription.delta') byItem.get(e.item_id!)?.deltas.push(now);
    else if (e.type === 'conversation.item.input_audio_transcription.completed') {
      const turn = byItem.get(e.item_id!);
      if (turn) Object.assign(turn, { completedAt: now, seconds: (e.usage as { seconds: number }).seconds });
    } else if (e.type === 'conversation.item.input_audio_transcription.failed') {
      const turn = byItem.get(e.item_id!);
      if (turn) turn.failed = true;
      errors.push(JSON.stringify(e.error));
    } else if (e.type === 'error') errors.push(JSON.stringify(e.error));
  });
  const step = 48 * CHUNK_MS;
  for (let at = 0, n = 0; performance.now() < until; at = (at + step) % audio.length, n++) {
    ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: audio.subarray(at, at + step).toString('base64') }));
    const due = started + (n + 1) * CHUNK_MS;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
  }
  // the last turn: silence long enough for the VAD to end it, then wait for its transcript
  for (let i = 0; i < 10; i++) ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(step).toString('base64') }));
  const deadline = performance.now() + 60_000;
  while (turns.some((t) => byItem.has(t.item) && !t.completedAt && !t.failed) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
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

const meter = new QuietMeter();
console.log(await meter.banner());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-realtime-'));
let modelPath = values['model-path'];
if (!modelPath) {
  modelPath = path.join(dir, 'model');
  await makeCheckpoint({ size: values.shape as CheckpointSize, out: modelPath, seed: 3 });
}
process.env.SGL_OMNI_REALTIME_MAX_SESSIONS = String(Math.max(...counts) + 1);
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
  overrides: [['stages.encoder.options.precision', values.precision!], ['stages.decoder.options.precision', values.precision!]],
});
const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(os.homedir(), '.cache', 'sgl-omni') });
const app = await buildServer({ pipeline, servedModelNames: ['bench'] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
await pipeline.ready();
const audio = Buffer.concat(clips().flatMap((c) => [c.pcm, Buffer.alloc(GAP_S * 48_000)]));
console.log(`model: ${values['model-path'] ?? `made ${values.shape} checkpoint`} (${values.precision}); clips: ${clips().length} LibriVox utterances + ${GAP_S} s gaps, looped; ${durationS} s per run`);

for (const n of counts) {
  const turns: Turn[] = [];
  const errors: string[] = [];
  const stepsBefore = await metricValue(base, 'sgl_omni_worker_decode_steps');
  const tokensBefore = await metricValue(base, 'sgl_omni_worker_generated_tokens');
  const rss: number[] = [process.memoryUsage().rss];
  const rssTimer = setInterval(() => rss.push(process.memoryUsage().rss), 1000);
  const cpuBefore = process.cpuUsage();
  const { quiet } = await meter.measure(async () => {
    const until = performance.now() + durationS * 1000;
    await Promise.all(Array.from({ length: n }, () => speaker(`${base.replace('http', 'ws')}/v1/realtime?model=bench`, audio, until, turns, errors)));
  });
  clearInterval(rssTimer);
  rss.push(process.memoryUsage().rss);
  const cpu = process.cpuUsage(cpuBefore);
  const steps = (await metricValue(base, 'sgl_omni_worker_decode_steps')) - stepsBefore;
  const done = turns.filter((t) => t.completedAt);
  const audioS = done.reduce((s, t) => s + (t.seconds ?? 0), 0);
  const generated = (await metricValue(base, 'sgl_omni_worker_generated_tokens')) - tokensBefore;
  // Decoder tokens (audio tokens prefilled + text generated) per audio second, as run: each turn
  // once. From scratch every 2 s (the official recipe without KV reuse): a turn of D s is decoded
  // at 2, 4, … s and at its end, each pass prefilling its audio so far and generating its text so
  // far (text taken ∝ audio, at the measured rate).
  const genPerS = generated / Math.max(1, audioS);
  const asRun = AUDIO_TOKENS_PER_S + genPerS;
  const scratch = done.reduce((sum, t) => {
    const d = t.seconds ?? 0;
    let cost = 0;
    for (let k = RECIPE_CHUNK_S; k < d; k += RECIPE_CHUNK_S) cost += k * asRun;
    return sum + cost + d * asRun;
  }, 0) / Math.max(1, audioS);
  const mb = (b: number) => (b / 2 ** 20).toFixed(0);
  console.log(`\nN=${n}: ${turns.length} turns, ${done.length} completed, ${turns.filter((t) => t.failed).length} failed, ${errors.length} errors${errors.length ? ` (first: ${errors[0]})` : ''}; machine ${quiet.disturbed ? `DISTURBED (others used ${quiet.otherCores.toFixed(2)} cores)` : 'quiet'}`);
  console.log(`  end of speech → completed: ${stat(done.map((t) => t.completedAt! - t.endOfSpeech))}`);
  console.log(`  speech_stopped → completed: ${stat(done.map((t) => t.completedAt! - t.stoppedAt!))}`);
  console.log(`  end of speech → first delta: ${stat(done.filter((t) => t.deltas.length).map((t) => t.deltas[0] - t.endOfSpeech))}`);
  console.log(`  delta cadence: ${stat(done.flatMap((t) => t.deltas.slice(1).map((d, i) => d - t.deltas[i])))}`);
  console.log(`  decoder: ${steps} batched steps, ${generated} tokens generated for ${audioS.toFixed(0)} s of turns; decoder tokens per audio second ${asRun.toFixed(1)} (${AUDIO_TOKENS_PER_S} prefilled + ${genPerS.toFixed(1)} generated) vs ~${scratch.toFixed(1)} re-decoding from scratch every ${RECIPE_CHUNK_S} s (${(scratch / asRun).toFixed(1)}x; estimated on the same turns)`);
  console.log(`  CPU: ${((cpu.user + cpu.system) / 1e6 / (quiet.wallMs / 1000) / n).toFixed(3)} cores per stream (${((cpu.user + cpu.system) / 1e6 / (quiet.wallMs / 1000)).toFixed(2)} in all); RSS start ${mb(rss[0])} / peak ${mb(Math.max(...rss))} / end ${mb(rss[rss.length - 1])} MB`);
}
await app.close();
await pipeline.close();
fs.rmSync(dir, { recursive: true, force: true });
console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
