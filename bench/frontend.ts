// Audio front-end throughput: decode + resample + log-mel, in seconds of audio per
// second, for a 60 s clip of real speech as 16 kHz WAV, 44.1 kHz stereo WAV and MP3.
// Side by side in one run: transformers.js' WhisperFeatureExtractor for the mel step,
// sox (when installed) for the resample step, and ffmpeg's whole decode+soxr chain.
// Each timed run carries the CPU other processes took meanwhile (bench/quiet.ts);
// a disturbed run is retaken up to twice, and ratios built on one that stayed
// disturbed are printed as "refused".
// Usage: node dist/bench/frontend.js [--runs N] [--max-other-cores 0.1]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { createProgress } from '../src/util/progress.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { downmixToMono, resample, resampleTo16kMono } from '../stages/audio/resample.js';
import { referenceLogMel } from '../test/fixtures/audio/reference-mel.js';
import { buildWav } from '../test/fixtures/audio/wav-writer.js';
import { parseScriptArgs } from './args.js';
import { QuietMeter, Series, quietSample } from './quiet.js';

const SECONDS = 60;
const { values } = parseScriptArgs('Usage: node dist/bench/frontend.js [--runs N] [--max-other-cores 0.1]\nDecode + resample + log-mel throughput, side by side with transformers.js, sox and ffmpeg.', {
  options: { runs: { type: 'string', default: '3' }, 'max-other-cores': { type: 'string', default: '0.1' } },
});
const runs = Number(values.runs);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
console.log(await meter.banner());
const fixtures = path.join(repoRoot(), 'test/fixtures/audio');
const hasSox = spawnSync('sox', ['--version']).status === 0;

/** `planes` repeated to SECONDS of audio. */
function loop(planes: Float32Array[], rate: number): Float32Array[] {
  return planes.map((p) => Float32Array.from({ length: SECONDS * rate }, (_, i) => p[i % p.length]));
}

function pcm16Wav(planes: Float32Array[], rate: number): Uint8Array {
  const data = new Uint8Array(planes[0].length * planes.length * 2);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < planes[0].length; i++)
    planes.forEach((p, c) => dv.setInt16((i * planes.length + c) * 2, Math.max(-32768, Math.min(32767, Math.round(p[i] * 32768))), true));
  return buildWav({ formatTag: 1, bits: 16, channels: planes.length, sampleRate: rate, data });
}

function pipeThrough(exe: string, args: string[], input: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${exe} exited with ${code}`))));
    child.stdin.end(input);
  });
}

const f32Bytes = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);

/** `runs` timed calls after one warm-up call (JIT, WASM compilation, filter design), each under the quiet meter. */
async function timed(name: string, fn: () => Promise<unknown> | unknown): Promise<Series> {
  await fn();
  const series = new Series(name);
  for (let i = 0; i < runs; i++) {
    const r = await quietSample(meter, fn, 2);
    series.add(r.quiet.wallMs, r.quiet);
  }
  return series;
}

// inputs: jfk.wav (16 kHz mono) and the 44.1 kHz stereo MP3 fixture, looped to 60 s
const jfk = (await decodeAudio(fs.readFileSync(path.join(fixtures, 'jfk.wav')), { maxDurationS: 60 })).channels;
// the MP3's own 44.1 kHz stereo samples (decodeAudio delivers 16 kHz mono), for the resampler comparisons
const mp3Samples = await pipeThrough(ffmpegInstaller.path, ['-v', 'error', '-i', 'pipe:0', '-f', 'f32le', 'pipe:1'], fs.readFileSync(path.join(fixtures, 'jfk-44k-stereo.mp3')));
const interleaved = new Float32Array(Uint8Array.from(mp3Samples).buffer);
const stereo = [0, 1].map((c) => interleaved.filter((_, i) => i % 2 === c));
const wavStereo = pcm16Wav(loop(stereo, 44100), 44100);
// each input with its samples at the source rate (what the downmix and resampler timings take)
const inputs: [string, Uint8Array, Float32Array[], number][] = [
  ['WAV 16 kHz mono', pcm16Wav(loop(jfk, 16000), 16000), loop(jfk, 16000), 16000],
  ['WAV 44.1 kHz stereo', wavStereo, loop(stereo, 44100), 44100],
  ['MP3 44.1 kHz stereo 96k', await pipeThrough(ffmpegInstaller.path, ['-v', 'error', '-i', 'pipe:0', '-c:a', 'libmp3lame', '-b:a', '96k', '-f', 'mp3', 'pipe:1'], wavStereo), loop(stereo, 44100), 44100],
];

type Task = [name: string, fn: () => Promise<unknown> | unknown];
const x = (ms: number) => Math.round((SECONDS * 1000) / ms);
const progress = createProgress();
progress.start(`frontend bench: ${inputs.length} inputs, ${runs} runs per measurement`, inputs.length);
const rows: Record<string, string | number>[] = [];
for (const [name, bytes, planes, rate] of inputs) {
  const mono = downmixToMono(planes);
  const mono16k = resampleTo16kMono(planes, rate);
  const needsResampling = rate !== 16000;
  const tasks: Task[] = [
    // decoding includes the downmix and resample (piece by piece); the row below times those alone
    ['decode', () => decodeAudio(bytes, { maxDurationS: 3600 })],
    ['downmix+resample', () => resampleTo16kMono(planes, rate)],
    ['mel', () => whisperLogMel(mono16k)],
    ['all', async () => {
      const d = await decodeAudio(bytes, { maxDurationS: 3600 });
      whisperLogMel(resampleTo16kMono(d.channels, d.sampleRate));
    }],
    ['transformers.js mel', () => referenceLogMel(mono16k)],
    // decode + downmix + soxr resample in one ffmpeg process (Whisper's load_audio, with soxr)
    ['ffmpeg', () => pipeThrough(ffmpegInstaller.path, ['-v', 'error', '-i', 'pipe:0', '-ac', '1', '-af', 'aresample=16000:resampler=soxr', '-f', 'f32le', 'pipe:1'], bytes)],
  ];
  if (needsResampling) {
    tasks.push(['resample', () => resample(mono, rate, 16000)]);
    const soxArgs = ['-t', 'f32', '-r', String(rate), '-c', '1', '-', '-t', 'f32', '-', 'rate', '-v', '16000'];
    if (hasSox) tasks.push(['sox', () => pipeThrough('sox', soxArgs, f32Bytes(mono))]);
  }
  const series: Record<string, Series> = {};
  for (const [task, fn] of tasks) series[task] = await timed(task, fn);
  const t = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.median()]));
  /** a / b from medians, or 'refused' when a run of either stayed disturbed. */
  const over = (a: string, b: string) => (series[a].disturbed || series[b].disturbed ? 'refused' : +(t[a] / t[b]).toFixed(2));
  progress.tick();
  rows.push({
    input: name,
    'decode ms': +t.decode.toFixed(1),
    'resample ms': +t['downmix+resample'].toFixed(1),
    'mel ms': +t.mel.toFixed(1),
    'total ms': +t.all.toFixed(1),
    'total x realtime': x(t.all),
    'transformers.js mel ms': +t['transformers.js mel'].toFixed(1),
    'mel: transformers.js / ours': over('transformers.js mel', 'mel'),
    'sox rate -v ms': !needsResampling ? '-' : hasSox ? +t.sox.toFixed(1) : 'not installed',
    'resample: sox / ours': needsResampling && hasSox ? over('sox', 'resample') : '-',
    'ffmpeg decode+soxr ms': +t.ffmpeg.toFixed(1),
    'total: (ffmpeg + our mel) / ours': series.ffmpeg.disturbed || series.mel.disturbed || series.all.disturbed ? 'refused' : +((t.ffmpeg + t.mel) / t.all).toFixed(2),
    'others cores (worst)': +Math.max(...Object.values(series).map((v) => v.worstOtherCores)).toFixed(2),
  });
}
progress.stop();
console.log(`\n${SECONDS} s of speech, median of ${runs} runs, one thread (${process.version}); "refused": a run stayed disturbed by other processes:`);
console.table(rows);
console.log('x realtime = seconds of audio per second of work. Ratios are their time / ours: above 1, ours is faster.');
