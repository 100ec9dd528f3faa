// chunking_strategy end to end on the LibriVox long-audio set (bench/datasets/librivox-set.ts),
// through pipelines/qwen3-asr.yaml (decode → resample → vad → mel → encoder → decoder) on a
// random checkpoint of real shape, the default energy split against "auto":
//  - time (--size 0.6b): request wall time, rounds alternating the two (order swapped each
//    round), each sample with the CPU other processes took meanwhile (bench/quiet.ts); ratios
//    refused when disturbed. Random weights say no words, so every segment generates
//    --new-tokens tokens (loop guard off): the measured time is the audio's part (decoding,
//    VAD, mel, encoder, prefill) plus that fixed decode. A trained model writes the same words
//    either way; the estimate adds them (1.3 tokens per word, + 5 header tokens per segment) at
//    the decode step time measured in the same run.
//  - no word lost at a cut (--size tiny): each utterance transcribed alone and as its segment
//    of the whole file: the speech the energy endpointer finds in it must lie inside the
//    segment, and the generated token counts of piece and segment are printed side by side
//    (random weights: equal counts show the decoder saw the same thing, not that words match).
// Usage: node dist/bench/vad-e2e.js [--size 0.6b|tiny] [--precision int8] [--rounds 3]
//        [--new-tokens 1] [--max-other-cores 0.1] [--cache-dir DIR]
import path from 'node:path';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import type { Override } from '../src/config/document.js';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Pipeline } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { buildWav } from '../test/fixtures/audio/wav-writer.js';
import { RATE } from '../test/fixtures/vad/long-audio.js';
import { benchCacheDir, parseScriptArgs } from './args.js';
import { loadLibrivoxSet } from './datasets/librivox-set.js';
import { ensureRandomCheckpoint } from './peer-ours.js';
import { QuietMeter, ratioLine, runLine, Series } from './quiet.js';

const USAGE = `Usage: node dist/bench/vad-e2e.js [--size 0.6b|tiny] [--precision int8] [--rounds 3] [--new-tokens 1]
       [--max-other-cores 0.1] [--cache-dir DIR]
chunking_strategy=auto against the default split on the LibriVox long-audio set: request time on a
random real-shape checkpoint (0.6b), or that no speech is lost at a cut (tiny).`;
const { values } = parseScriptArgs(USAGE, {
  options: {
    size: { type: 'string', default: '0.6b' },
    precision: { type: 'string', default: 'int8' },
    rounds: { type: 'string', default: '3' },
    'new-tokens': { type: 'string', default: '1' },
    'max-other-cores': { type: 'string', default: '0.1' },
    'cache-dir': { type: 'string' },
  },
});
const size = values.size as CheckpointSize;
const newTokens = Number(values['new-tokens']);
const log = (m: string) => process.stderr.write(`${m}\n`);

const set = loadLibrivoxSet();
const seconds = set.samples.length / RATE;
const cache = benchCacheDir(values['cache-dir']);
const modelPath = path.join(cache, `qwen3-asr-${size}-random`);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
console.log(`cache: ${cache}\n${await meter.banner()}`);
console.log(`set: ${seconds.toFixed(1)} s, ${set.utterances.length} utterances (${set.words} words) from ${set.source}`);
await ensureRandomCheckpoint(size, modelPath, log);

const overrides: Override[] = [
  ['stages.encoder.options.precision', values.precision],
  ['stages.decoder.options.precision', values.precision],
  ['stages.decoder.options.loop_max_period', '0'],
];
const pipeline: Pipeline = createPipeline(await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), { overrides }), { modelPath, cacheDir: path.join(cache, 'graphs') });
log(`loading ${path.basename(modelPath)} (${values.precision}; a first run converts the graphs)…`);
await pipeline.ready();

function wav(samples: Float32Array): ArrayBuffer {
  const pcm = Int16Array.from(samples, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32768))));
  const bytes = buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(pcm.buffer) });
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
type Segment = { start: number; end: number; tokens: number[] };
/** `samples` as a fresh WAV each time: the pipeline takes the upload's buffer over (zero-copy). */
async function transcribe(samples: Float32Array, auto: boolean, maxNewTokens: number): Promise<Segment[]> {
  const audio = wav(samples);
  const params = { temperature: 0, stream: false, response_format: 'verbose_json', language: 'en', max_new_tokens: maxNewTokens, ...(auto ? { chunking_strategy: 'auto' } : {}) };
  const out = await pipeline.submit({ audio, filename: 'long.wav', contentType: 'audio/wav', params });
  return out.segments as Segment[];
}
const decoderCounter = (name: string) => (pipeline.stageMetrics?.().decoder?.[name] as number | undefined) ?? 0;

if (size === 'tiny') await noWordLost();
else await timeSaved();
await pipeline.close();

async function timeSaved(): Promise<void> {
  const whole = set.samples;
  const modes = [{ name: 'default', auto: false }, { name: 'auto', auto: true }];
  const series = modes.map((m) => new Series(m.name));
  const segments = [0, 0];
  for (const m of modes) segments[modes.indexOf(m)] = (await transcribe(whole, m.auto, newTokens)).length; // warm-up
  const rounds = Number(values.rounds);
  const run = await meter.measure(async () => {
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 ? [1, 0] : [0, 1]) {
        const { quiet } = await meter.measure(() => transcribe(whole, modes[i].auto, newTokens));
        series[i].add(quiet.wallMs / 1000, quiet);
        log(`round ${r + 1}/${rounds} ${modes[i].name}: ${(quiet.wallMs / 1000).toFixed(2)} s${quiet.disturbed ? ' DISTURBED' : ''}`);
      }
    }
  });
  // The decode step cost, from the decoder's counters over a short greedy run on one segment.
  const [rows0, ms0] = [decoderCounter('decode_rows'), decoderCounter('decode_ms')];
  await transcribe(set.samples.subarray(0, 5 * RATE), false, 32);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // counters publish once a second
  const stepMs = (decoderCounter('decode_ms') - ms0) / Math.max(1, decoderCounter('decode_rows') - rows0);
  console.log(`\nQwen3-ASR ${size} random, ${values.precision}, ${seconds.toFixed(1)} s, ${newTokens} new token(s) per segment; min / median s over ${rounds} rounds`);
  modes.forEach((m, i) => console.log(`${m.name}: ${segments[i]} segments, ${series[i].describe(2)} s`));
  console.log(ratioLine('auto / default time', series[1], series[0], run.quiet));
  const words = Math.round(set.words * 1.3);
  const estimate = (i: number) => series[i].median() + ((words + 5 * segments[i]) * stepMs) / 1000;
  console.log(`estimate with a trained model's ${words} transcript tokens at ${stepMs.toFixed(1)} ms per decode step (batch 1, an upper bound): default ${estimate(0).toFixed(2)} s, auto ${estimate(1).toFixed(2)} s (${(100 * (1 - estimate(1) / estimate(0))).toFixed(0)}% saved)`);
  console.log(runLine(run.quiet, meter.maxOtherCores));
}

async function noWordLost(): Promise<void> {
  const segs = await transcribe(set.samples, true, 64);
  console.log(`\nauto on the whole file: ${segs.length} segments for ${set.utterances.length} utterances`);
  let lost = 0;
  for (const [i, u] of set.utterances.entries()) {
    const seg = segs.find((s) => s.end > u.start && s.start < u.end);
    const alone = await transcribe(set.samples.subarray(Math.round(u.start * RATE), Math.round(u.end * RATE)), false, 64);
    const covered = seg !== undefined && seg.start <= u.speechStart && seg.end >= u.speechEnd;
    if (!covered) lost++;
    console.log(`utterance ${i}: speech ${u.speechStart.toFixed(2)}-${u.speechEnd.toFixed(2)} s, segment ${seg ? `${seg.start.toFixed(2)}-${seg.end.toFixed(2)}` : 'none'} ${covered ? 'holds it' : 'CUTS IT'}; tokens: segment ${seg?.tokens.length ?? 0}, alone ${alone.reduce((n, s) => n + s.tokens.length, 0)}`);
  }
  console.log(lost ? `${lost} utterance(s) cut` : 'no utterance cut: every speech span lies inside one segment');
}
