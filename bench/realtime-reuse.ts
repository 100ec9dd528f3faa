// Work a live turn's partials save by reuse, counted (not timed, so the machine
// need not be quiet): one turn of LibriVox speech (the clips of Debian's
// pocketsphinx-testdata, or the two in test/fixtures/vad/librivox, joined to
// --turn-s) is re-decoded every --chunk-s as it grows, the official qwen-asr
// streaming recipe (the previous text forced as answer_prefix less its last
// --unfixed-tokens, none for the first --unfixed-chunks), then once whole. Per
// partial: encoder windows taken from the window cache vs encoded, and decoder
// prompt positions taken from the prefix cache vs prefilled; totals against
// re-doing every partial from scratch. Runs the real runners in this process.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { decodeWavSamples, readWavLayout } from '../stages/audio/wav.js';
import { Resampler } from '../stages/audio/resample.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import { WindowCache, fingerprintColumns } from '../stages/common/engine/window-cache.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { transcribe } from '../stages/qwen3-asr/decode/transcription.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';
import { benchCacheDir, parseScriptArgs } from './args.js';

const USAGE = `Usage: node dist/bench/realtime-reuse.js [--turn-s 24] [--chunk-s 2] [--unfixed-chunks 2] [--unfixed-tokens 5] [--shape tiny|0.6b] [--model-path DIR] [--precision int8|fp32] [--cache-dir DIR]
  Re-decodes one growing turn of LibriVox speech every --chunk-s as the official qwen-asr streaming
  does and counts, per partial, the encoder windows and decoder prompt positions reuse saved.`;

const { values } = parseScriptArgs(USAGE, {
  options: {
    'turn-s': { type: 'string', default: '24' },
    'chunk-s': { type: 'string', default: '2' },
    'unfixed-chunks': { type: 'string', default: '2' },
    'unfixed-tokens': { type: 'string', default: '5' },
    shape: { type: 'string', default: 'tiny' },
    'model-path': { type: 'string' },
    precision: { type: 'string', default: 'int8' },
    'cache-dir': { type: 'string' },
  },
});
const [turnS, chunkS, unfixedChunks, unfixedTokens] = ['turn-s', 'chunk-s', 'unfixed-chunks', 'unfixed-tokens'].map((k) => Number(values[k as keyof typeof values]));
const RATE = 16_000;
/** Tokens per partial, as the official streaming's max_new_tokens (32). */
const NEW_TOKENS = 32;

/** The LibriVox clips at 16 kHz, joined (and repeated) to `seconds`. */
function turnAudio(seconds: number): Float32Array {
  const system = '/usr/share/pocketsphinx/test/data/librivox';
  const dir = fs.existsSync(system) ? system : path.join(repoRoot(), 'test/fixtures/vad/librivox');
  const clips = fs.readdirSync(dir).filter((f) => f.endsWith('.wav')).sort().map((f) => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(dir, f)));
    const layout = readWavLayout(bytes);
    return new Resampler(layout.sampleRate, RATE).push(decodeWavSamples(bytes, layout)[0]);
  });
  const out = new Float32Array(Math.round(seconds * RATE));
  for (let at = 0, i = 0; at < out.length; at += clips[i % clips.length].length, i++) out.set(clips[i % clips.length].subarray(0, out.length - at), at);
  console.log(`turn: ${seconds} s from ${clips.length} clips in ${dir}`);
  return out;
}

const cache = benchCacheDir(values['cache-dir']);
let modelPath = values['model-path'];
if (!modelPath) {
  modelPath = path.join(cache, `realtime-reuse-${values.shape}`);
  if (!fs.existsSync(path.join(modelPath, 'config.json'))) await makeCheckpoint({ size: values.shape as CheckpointSize, out: modelPath, seed: 3 });
}
const opts = { modelPath, cacheDir: path.join(cache, 'graphs'), precision: values.precision as 'int8', device: 'cpu', threads: 2 };
const encoder = await createEncoderRunner(opts);
const decoder = await createDecoderRunner({ ...opts, maxSlots: 2, maxContext: 1024 });
const text = loadAsrText(modelPath);
const windows = new WindowCache(64 << 20, encoder.window.tokens * encoder.outputDim);
const scheduler = new BatchScheduler(decoder, { eosIds: text.eosIds, embedTokenId: text.audioTokenId, prefillChunkTokens: 256, prefixCacheBytes: 256 << 20 });
const ctx = { id: 'bench', cancelled: false, emit() {}, onCancel() {}, log() {} };

const samples = turnAudio(turnS);
const ends: number[] = [];
for (let n = Math.round(chunkS * RATE); n < samples.length; n += Math.round(chunkS * RATE)) ends.push(n);
ends.push(samples.length);
const total = { windows: 0, windowsReused: 0, prompt: 0, reused: 0 };
let previous = '';
console.log('partial  audio_s  windows(reused/all)  prompt_positions(reused/all)');
for (const [k, end] of ends.entries()) {
  const mel = whisperLogMel(samples.subarray(0, end), 128);
  const keys = Array.from({ length: Math.floor(mel.frames / encoder.window.frames) }, (_, w) => fingerprintColumns(mel.mel, mel.nMels, mel.frames, w * encoder.window.frames, (w + 1) * encoder.window.frames));
  const reusedBefore = windows.reused;
  const [audio] = await windows.encodeAll([{ input: mel, windowKeys: keys }], (items) => encoder.encode(items.map(({ input, skip }) => ({ mel: input.mel, frames: input.frames, skipWindows: skip }))));
  const allWindows = Math.ceil(mel.frames / encoder.window.frames);
  const stats = scheduler.stats();
  const prefix = k >= unfixedChunks && previous ? { text: previous, unfixedTokens } : undefined;
  const result = await transcribe(scheduler, text.codec, { segments: [{ start: 0, end: end / RATE, audio, tokens: audio.length / encoder.outputDim }], context: '', language: 'English', temperature: 0, seed: 1, stream: false, logprobs: false, maxNewTokens: NEW_TOKENS, maxSegmentsInFlight: 1, budget: { perS: 10, min: 128 }, answerPrefix: prefix }, ctx);
  previous = result.text;
  const after = scheduler.stats();
  const reused = after.prefixReusedTokens - stats.prefixReusedTokens;
  const prompt = reused + after.prefillTokens - stats.prefillTokens;
  Object.assign(total, { windows: total.windows + allWindows, windowsReused: total.windowsReused + windows.reused - reusedBefore, prompt: total.prompt + prompt, reused: total.reused + reused });
  console.log(`${String(k).padStart(7)}  ${(end / RATE).toFixed(1).padStart(7)}  ${`${windows.reused - reusedBefore}/${allWindows}`.padStart(19)}  ${`${reused}/${prompt}`.padStart(28)}`);
}
const pct = (a: number, b: number) => `${((100 * a) / Math.max(1, b)).toFixed(1)} %`;
console.log(`total: encoder windows ${total.windowsReused}/${total.windows} reused (${pct(total.windowsReused, total.windows)} of the encoder work re-done from scratch), `
  + `decoder prompt positions ${total.reused}/${total.prompt} reused (${pct(total.reused, total.prompt)} of the prefill), over ${ends.length} decodes of a ${turnS} s turn`);
await scheduler.close();
await encoder.dispose();
await decoder.dispose();
