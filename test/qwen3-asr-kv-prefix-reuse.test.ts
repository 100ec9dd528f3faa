// Decoder KV prefix reuse (common/engine/prefix-cache.ts) on the real fp32
// runner and the golden tiny checkpoint, against a scheduler without it: a
// prompt that extends a finished one (the same audio with a forced answer
// start) prefills only what is new and gives the same tokens and log-
// probabilities; a grown clip whose first audio rows are the same reuses up to
// its first changed row and no further; a different clip with the same text
// around it reuses only the system turn before the audio. Memory stays within
// the bound, and a cancelled sequence leaves nothing behind.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import type { SequenceOutput, SequenceSpec } from '../stages/common/engine/sequence.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { createDecoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';

const golden = new GoldenSet(path.join(repoRoot(), 'test/fixtures/golden/qwen3-asr-tiny'));
const tmp = path.join(repoRoot(), 'test/.tmp/kv-prefix-reuse');
fs.rmSync(tmp, { recursive: true, force: true });
const text = loadAsrText(golden.checkpoint);
const { codec } = text;
const NEW_TOKENS = 24;
/**
 * Reused rows were computed in another prefill chunk than a fresh prefill would use (other matrix
 * shapes), so logits agree to float rounding, not bit for bit: measured max |Δ logprob| ≤ 1.0e-6.
 */
const LOGPROB_TOL = 1e-5;
const maxDiff = (a: SequenceOutput[], b: SequenceOutput[]) => Math.max(0, ...a.flatMap((o, i) => o.logprobs.map((lp, k) => Math.abs(lp - b[i].logprobs[k]))));

async function scheduler(prefixCacheBytes: number, prefillChunkTokens = 64) {
  const runner = await createDecoderRunner({ modelPath: golden.checkpoint, cacheDir: path.join(tmp, 'cache'), precision: 'fp32', device: 'cpu', threads: 1, maxSlots: 4, maxContext: 512 });
  t.teardown(() => runner.dispose());
  return new BatchScheduler(runner, { eosIds: [], embedTokenId: text.audioTokenId, prefillChunkTokens, prefixCacheBytes });
}

const [speech, synth] = golden.inputs.map((input) => ({ audio: golden.floats(`${input}.enc`), tokens: golden.manifest.inputs[input].audio_tokens }));
const rowSize = speech.audio.length / speech.tokens;
const spec = (clip: { audio: Float32Array; tokens: number }, answer?: string): SequenceSpec => ({
  promptIds: codec.promptIds('Cars, trains.', clip.tokens, undefined, answer), embeds: clip.audio, maxNewTokens: NEW_TOKENS, temperature: 0, seed: 1, keepPrefix: true,
});
const firstPad = (s: SequenceSpec) => s.promptIds.indexOf(text.audioTokenId);

/** Runs `specs` one after the other on a scheduler with and one without reuse; returns both outputs and the reuse counts. */
async function compare(specs: SequenceSpec[]) {
  const plain = await scheduler(0);
  const reusing = await scheduler(64 << 20);
  const without: SequenceOutput[] = [];
  const withReuse: SequenceOutput[] = [];
  const reused: number[] = [];
  for (const s of specs) {
    without.push(await plain.submit(s).result);
    const before = reusing.stats().prefixReusedTokens;
    withReuse.push(await reusing.submit(s).result);
    reused.push(reusing.stats().prefixReusedTokens - before);
  }
  return { without, withReuse, reused, stats: reusing.stats(), plainStats: plain.stats() };
}

t.test('a prompt extending a finished one prefills only what is new; same tokens and logprobs', async (t) => {
  const first = spec(speech);
  const second = spec(speech, 'language English<asr_text>abc');
  const { without, withReuse, reused, stats, plainStats } = await compare([first, second]);
  t.same(reused, [0, first.promptIds.length], 'the second reuses the whole first prompt');
  t.equal(stats.prefillTokens, plainStats.prefillTokens - reused[0] - reused[1], 'those positions were not prefilled');
  t.same(withReuse.map((o) => o.tokens), without.map((o) => o.tokens), 'same tokens');
  const d = maxDiff(withReuse, without);
  t.ok(d <= LOGPROB_TOL, `log-probabilities max |Δ| ${d.toExponential(2)} ≤ ${LOGPROB_TOL}`);
});

t.test('a grown clip reuses up to its first changed audio row; a different clip only the system turn', async (t) => {
  const grownTokens = speech.tokens + 5;
  const grown = new Float32Array(grownTokens * rowSize);
  grown.set(speech.audio.subarray(0, 20 * rowSize));
  grown.set(synth.audio.subarray(0, (grownTokens - 20) * rowSize), 20 * rowSize); // rows 20.. changed
  const base = spec(speech);
  const grownSpec = spec({ audio: grown, tokens: grownTokens });
  const other = spec(synth);
  const { without, withReuse, reused } = await compare([base, grownSpec, other]);
  const pad = firstPad(base);
  t.equal(firstPad(grownSpec), pad);
  t.equal(reused[1], pad + 20, 'the system turn and the 20 audio rows that are the same');
  t.equal(reused[2], pad, 'another clip: the system turn only (ids equal up to the audio, rows differ from the first)');
  t.same(withReuse.map((o) => o.tokens), without.map((o) => o.tokens));
  const d = maxDiff(withReuse, without);
  t.ok(d <= LOGPROB_TOL, `log-probabilities max |Δ| ${d.toExponential(2)} ≤ ${LOGPROB_TOL}`);

  const oneBit = spec({ audio: Float32Array.from(speech.audio), tokens: speech.tokens });
  new Int32Array(oneBit.embeds!.buffer)[3 * rowSize + 7] ^= 1; // row 3 differs in its last mantissa bit
  const again = await compare([base, oneBit]);
  t.equal(again.reused[1], pad + 3, 'a one-bit change in row 3 stops the reuse there');
  t.same(again.withReuse[1].tokens, again.without[1].tokens);
  t.ok(maxDiff(again.withReuse, again.without) <= LOGPROB_TOL);
});

t.test('bounded: the cache keeps at most its bytes; a cancelled sequence leaves nothing', async (t) => {
  const sizeOf = async (s: SequenceSpec) => {
    const probe = await scheduler(64 << 20);
    await probe.submit(s).result;
    return probe.stats().prefixCacheBytes;
  };
  const [speechBytes, synthBytes] = [await sizeOf(spec(speech)), await sizeOf(spec(synth))];
  t.ok(speechBytes > 0 && synthBytes > 0);
  const bound = speechBytes + synthBytes - 1; // one of them at a time
  const small = await scheduler(bound, 8);
  await small.submit(spec(speech)).result;
  await small.submit(spec(synth)).result;
  t.equal(small.stats().prefixCacheBytes, synthBytes, 'the older entry made room for the newer');
  const handle = small.submit({ ...spec(speech, 'x'), onToken: () => handle.cancel() });
  await t.rejects(handle.result, { code: 'ERR_CANCELLED' });
  t.equal(small.stats().prefixCacheBytes, synthBytes, 'the cancelled prompt was not kept');
  const before = small.stats().prefixReusedTokens;
  await small.submit(spec(speech, 'x')).result;
  t.equal(small.stats().prefixReusedTokens - before, firstPad(spec(speech)), 'the same prompt again starts from the kept synth system turn only');
  t.ok(small.stats().prefixCacheBytes <= bound);

  const oneOff = await scheduler(64 << 20);
  await oneOff.submit({ ...spec(speech), keepPrefix: false }).result;
  t.equal(oneOff.stats().prefixCacheBytes, 0, 'a prompt that did not ask to be kept is not copied out');
  await oneOff.submit(spec(speech)).result;
  t.equal(oneOff.stats().prefixHits, 0);
});
