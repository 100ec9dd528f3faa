// Silero VAD stage (stages/silero-vad) on real speech with known joins
// (test/fixtures/vad/long-audio.ts: copies of jfk.wav between silence and -40 dBFS noise).
//  1. Boundary error: each copy's first speech start and last speech end (no padding) against
//     the copy's own start and end, in ms; the speech found inside jfk.wav alone (its own pauses)
//     shifted to each copy, against what was found in the joined file; share of audio skipped.
//  2. Lanes: probabilities when a stream runs as lanes side by side vs as one chain (max |Δ|).
//  3. Cost: real-time factor of one stream as one chain, as lanes, and of 8 streams batched,
//     measured side by side (min of --reps).
//  4. LibriVox (bench/datasets/librivox-set.ts: real read speech joined with known silences and
//     noise): boundary error against each utterance's speech (ms), utterances missed, regions in
//     the joins, share of the joins skipped and of the speech kept, at the recording's level, 30 dB
//     quieter without and with auto's loudness normalisation, and under -35 dBFS noise throughout.
// Usage: node dist/bench/vad.js [--reps 3] [--threads 1]   (apt-get install pocketsphinx-testdata for the full LibriVox set)
import { defaultModelPath, SileroVad } from '../stages/silero-vad/model.js';
import { normalisingGain } from '../stages/silero-vad/loudness.js';
import { speechRegions, SERVER_VAD_DEFAULTS, type SpeechRegion } from '../stages/silero-vad/regions.js';
import { loadLibrivoxSet } from './datasets/librivox-set.js';
import { jfkSamples, joinWithGaps, RATE, STANDARD_GAPS } from '../test/fixtures/vad/long-audio.js';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, threads: { type: 'string', default: '1' } } });
const reps = Number(values.reps);
const vad = await SileroVad.load(defaultModelPath(), 'cpu', Number(values.threads));
const chain = { laneWindows: 1 << 30, warmupWindows: 0, maxBatch: 16 };
const lanes = { laneWindows: Math.round((30 * RATE) / 512), warmupWindows: 31, maxBatch: 16 };
const unpadded = { ...SERVER_VAD_DEFAULTS, prefix_padding_ms: 0 };

const jfk = jfkSamples();
const { samples, copies } = joinWithGaps(jfk, STANDARD_GAPS);
const [alone] = await vad.probabilities([jfk], chain);
const own = speechRegions(alone, jfk.length, unpadded);
const [joinedProbs] = await vad.probabilities([samples], chain);
const found = speechRegions(joinedProbs, samples.length, unpadded);
console.log(`jfk.wav alone: ${own.map((r) => `${r.start.toFixed(2)}-${r.end.toFixed(2)}`).join(' ')} s`);
console.log(`joined (${(samples.length / RATE).toFixed(1)} s): ${found.map((r) => `${r.start.toFixed(2)}-${r.end.toFixed(2)}`).join(' ')} s`);
copies.forEach((copy, i) => {
  const inside = found.filter((r) => r.end > copy.start && r.start < copy.end);
  const startMs = (inside[0].start - copy.start) * 1000;
  const endMs = (inside[inside.length - 1].end - copy.end) * 1000;
  const ownErr = Math.max(...own.map((r) => Math.min(...inside.map((f) => Math.abs(f.start - copy.start - r.start) * 1000))));
  console.log(`copy ${i}: first start ${startMs.toFixed(0)} ms after the join, last end ${endMs.toFixed(0)} ms from the join; regions ${inside.length} (alone ${own.length}), worst start vs alone ${ownErr.toFixed(0)} ms`);
});
const speechS = found.reduce((s, r) => s + r.end - r.start, 0);
const padded = speechRegions(joinedProbs, samples.length, SERVER_VAD_DEFAULTS);
const paddedS = padded.reduce((s, r) => s + r.end - r.start, 0);
const gapS = STANDARD_GAPS.reduce((s, g) => s + g.s, 0);
console.log(`skipped: ${(100 * (1 - paddedS / (samples.length / RATE))).toFixed(1)}% of the audio with default padding (${(100 * (1 - speechS / (samples.length / RATE))).toFixed(1)}% unpadded); the joins' silence+noise is ${(100 * gapS / (samples.length / RATE)).toFixed(1)}%`);

const [laned] = await vad.probabilities([samples], lanes);
let diff = 0;
for (let i = 0; i < laned.length; i++) diff = Math.max(diff, Math.abs(laned[i] - joinedProbs[i]));
console.log(`lanes of 30 s (1 s warm-up) vs one chain: max |Δ probability| ${diff.toExponential(2)}`);

async function best(streams: Float32Array[], opts: typeof chain): Promise<number> {
  let ms = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await vad.probabilities(streams, opts);
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}
const audioS = samples.length / RATE;
const one = await best([samples], chain);
const laneMs = await best([samples], lanes);
const eight = await best(Array.from({ length: 8 }, () => samples), chain);
console.log(`cost (min of ${reps}, ${values.threads} thread): one chain ${one.toFixed(0)} ms (${(audioS * 1000 / one).toFixed(0)}x real time); as lanes ${laneMs.toFixed(0)} ms (${(one / laneMs).toFixed(2)}x faster); 8 streams batched ${eight.toFixed(0)} ms = ${(eight / 8).toFixed(0)} ms each (${((8 * one) / eight).toFixed(2)}x the throughput of one by one)`);

const set = loadLibrivoxSet();
console.log(`\nLibriVox: ${(set.samples.length / RATE).toFixed(1)} s, ${set.utterances.length} utterances from ${set.source}`);
const overlap = (a: { start: number; end: number }, b: { start: number; end: number }) => Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start));
async function scoreLibrivox(name: string, samples: Float32Array, gain: number): Promise<void> {
  const [probs] = await vad.probabilities([samples], { ...lanes, gains: [gain] });
  const found = speechRegions(probs, samples.length, unpadded);
  const sent = speechRegions(probs, samples.length, SERVER_VAD_DEFAULTS);
  const starts: number[] = [];
  const ends: number[] = [];
  let missed = 0;
  for (const u of set.utterances) {
    const inside = found.filter((r) => r.end > u.start && r.start < u.end);
    if (inside.length === 0) {
      missed++;
      continue;
    }
    starts.push((inside[0].start - u.speechStart) * 1000);
    ends.push((inside[inside.length - 1].end - u.speechEnd) * 1000);
  }
  const gapS = set.gaps.reduce((sum, g) => sum + g.end - g.start, 0);
  const gapSent = set.gaps.reduce((sum, g) => sum + sent.reduce((x, r) => x + overlap(g, r), 0), 0);
  const speechS = set.utterances.reduce((sum, u) => sum + u.speechEnd - u.speechStart, 0);
  const speechKept = set.utterances.reduce((sum, u) => sum + sent.reduce((x, r) => x + overlap({ start: u.speechStart, end: u.speechEnd }, r), 0), 0);
  const inJoins = found.filter((r: SpeechRegion) => !set.utterances.some((u) => overlap(u, r) > 0)).length;
  const stat = (xs: number[]) => (xs.length ? `mean ${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0)}, |max| ${Math.max(...xs.map(Math.abs)).toFixed(0)}` : '-');
  console.log(`${name}: start error ms ${stat(starts)}; end error ms ${stat(ends)}; missed ${missed}; regions in the joins ${inJoins}; joins skipped ${(100 * (1 - gapSent / gapS)).toFixed(1)}%, speech kept ${(100 * speechKept / speechS).toFixed(2)}% (default padding)`);
}
const quietSet = set.samples.map((x) => x * 10 ** (-30 / 20));
let seed = 7;
const hiss = set.samples.map((x) => {
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return x + (seed / 2 ** 31 - 1) * 10 ** (-35 / 20) * Math.sqrt(3);
});
await scoreLibrivox('as recorded, server_vad', set.samples, 1);
await scoreLibrivox('as recorded, auto (loudness normalised)', set.samples, normalisingGain(set.samples, RATE));
await scoreLibrivox('30 dB quieter, server_vad (no normalisation)', quietSet, 1);
await scoreLibrivox('30 dB quieter, auto (loudness normalised)', quietSet, normalisingGain(quietSet, RATE));
await scoreLibrivox('-35 dBFS white noise throughout, auto', hiss, normalisingGain(hiss, RATE));
await vad.dispose();
