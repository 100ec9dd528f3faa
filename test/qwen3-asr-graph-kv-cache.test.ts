// The KV cache options (issue 18) on the golden sets of the official forward.
// In place (GroupQueryAttention updates the cache views the runner binds to its
// outputs): prefill logits within the manifests' fp32 tolerance and every
// greedy id, int8/int4 within the golden test's bounds. Float16: half the
// memory per slot, and its cost in accuracy. Prefill logits do not
// show it (a prompt attends to its own float32 keys only), so each golden case
// is prefilled from the set's prompt ids and encoder output and then
// teacher-forced through its golden greedy ids, every step's logits compared
// with the float32-cache decoder's (which this suite's golden test holds to the
// official logits): max relative error and argmax agreement, for fp32 and int4
// weights. Also: a float16 cache keeps slots apart when rows move (release/reuse), and a prefill
// chunk after a short past reads narrow copies of it (KvStore.narrowView) with the same logits.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { KvStore } from '../stages/common/engine/kv-store.js';
import type { Precision } from '../stages/common/engine/runner.js';
import { decoderAgreement } from '../stages/common/reference/decoder-agreement.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { repoRoot } from '../src/util/paths.js';
import { referenceLogits } from '../stages/qwen3-asr/reference/decoder.js';
import { tinyModel } from '../stages/qwen3-asr/reference/fixture.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { runGolden } from '../stages/qwen3-asr/reference/golden-run.js';
import { createDecoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { KvCacheType } from '../stages/common/graph/attention.js';

const goldenRoot = path.join(repoRoot(), 'test/fixtures/golden');
const sets = ['qwen3-asr-tiny', 'qwen3-asr-tiny-hf'];
const tmp = path.join(repoRoot(), 'test/.tmp/qwen3-asr-graph-kv-cache');
fs.rmSync(tmp, { recursive: true, force: true });
/**
 * Bound on the float16 cache's step logits against the float32 cache's (max |Δ| / max |ref|) with
 * fp32 weights. Half precision keeps 11 significant bits of each stored key and value (relative
 * rounding 4.9e-4); measured here 4.6e-5..4.4e-4.
 */
const KV16_FP32_BOUND = 1e-3;
/** The golden test's bounds on quantised prefill logits (golden-qwen3-asr.test.ts QUANTISED). */
const QUANTISED_LOGITS = { int8: 0.1, int4: 0.6 } as const;

t.test('a float16 cache holds half the bytes of a float32 one', async (t) => {
  const shape = { layers: 28, maxSlots: 8, kvHeads: 8, maxContext: 512, headDim: 128 };
  const bytes = (s: KvStore) => [...s.keys, ...s.values].reduce((a, b) => a + b.byteLength, 0);
  const f32 = bytes(new KvStore(shape));
  const f16 = bytes(new KvStore({ ...shape, type: 'float16' }));
  t.equal(f32, 2 * 28 * 8 * 8 * 512 * 128 * 4, `0.6B shape, 8 slots x 512 positions: ${(f32 / 2 ** 20).toFixed(0)} MiB in float32`);
  t.equal(f16 * 2, f32, `${(f16 / 2 ** 20).toFixed(0)} MiB in float16`);
});

for (const name of sets) {
  const golden = new GoldenSet(path.join(goldenRoot, name));
  const open = (precision: Precision, kvCache: KvCacheType) => createDecoderRunner({
    modelPath: golden.checkpoint, cacheDir: path.join(tmp, name), precision, device: 'cpu', threads: 1, maxSlots: 1, maxContext: 512, kvCache,
  });
  /** Every golden case, prefilled from its prompt ids and encoder output, forced through its greedy ids. */
  const cases = golden.inputs.flatMap((input) => golden.prompts.map((prompt) => ({
    label: `${input} ${prompt}`, ids: Int32Array.from(golden.ids(`${input}.${prompt}.prompt_ids`)),
    audio: golden.floats(`${input}.enc`), forced: golden.ids(`${input}.${prompt}.greedy`).slice(0, -1),
  })));

  t.test(`${name}: in-place cache, prefill logits and greedy ids against the golden set`, async (t) => {
    const tol = golden.manifest.tolerances.logits_fp32.max_rel;
    for (const precision of ['fp32', 'int8', 'int4'] as const) {
      const run = await runGolden(golden, { precision, cacheDir: path.join(tmp, name), kvInPlace: true });
      for (const d of run.decoded) {
        const label = `${precision} ${d.c.input} ${d.c.prompt}`;
        if (precision !== 'fp32') { t.ok(d.logitsError <= QUANTISED_LOGITS[precision], `${label}: prefill logits ${d.logitsError.toExponential(2)} ≤ ${QUANTISED_LOGITS[precision]}`); continue; }
        t.ok(d.logitsError <= tol, `${label}: prefill logits ${d.logitsError.toExponential(2)} ≤ ${tol}`);
        t.same(d.greedy, d.expected, `${label}: ${d.greedy.length} greedy ids`);
      }
    }
  });

  t.test(`${name}, fp32 weights: float16 cache vs float32 cache, teacher-forced on the golden greedy ids`, async (t) => {
    const [ref, half] = [await open('fp32', 'float32'), await open('fp32', 'float16')];
    t.teardown(async () => { await ref.dispose(); await half.dispose(); });
    for (const c of cases) {
      const a = await decoderAgreement(ref, half, c.ids, c.audio, c.forced);
      t.ok(a.maxRelError <= KV16_FP32_BOUND, `${c.label}: ${a.steps} steps, max |Δ|/max|ref| ${a.maxRelError.toExponential(2)} ≤ ${KV16_FP32_BOUND}`);
      t.equal(a.top1Agree, a.steps, `${c.label}: top-1 agrees at ${a.top1Agree}/${a.steps} steps`);
    }
  });

  // int4 weights quantise activations per block to int8 (MatMulNBits accuracy level 4), which turns
  // the cache's rounding into whole code steps: the float16 cache is held to a fraction of the error
  // the int4 weights themselves make against fp32 weights, on the same forced steps.
  t.test(`${name}, int4 weights: the float16 cache adds under a quarter of int4's own error`, async (t) => {
    const [ref, int4, int4Half] = [await open('fp32', 'float32'), await open('int4', 'float32'), await open('int4', 'float16')];
    t.teardown(async () => { await ref.dispose(); await int4.dispose(); await int4Half.dispose(); });
    for (const c of cases) {
      const weights = await decoderAgreement(ref, int4, c.ids, c.audio, c.forced);
      const cache = await decoderAgreement(int4, int4Half, c.ids, c.audio, c.forced);
      t.ok(cache.maxRelError <= weights.maxRelError / 4, `${c.label}: float16 cache ${cache.maxRelError.toExponential(2)} (top-1 ${cache.top1Agree}/${cache.steps}) ≤ 1/4 of int4 vs fp32 weights ${weights.maxRelError.toExponential(2)} (top-1 ${weights.top1Agree}/${weights.steps})`);
    }
  });
}

t.test('float16 cache: a released slot lets the last row move in; both keep their sequences', async (t) => {
  const model = await tinyModel('qwen3-asr-graph-kv-cache-moves');
  const d = model.decoder;
  const r = await createDecoderRunner({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'fp32', device: 'cpu', threads: 1, maxSlots: 3, maxContext: 64, kvCache: 'float16' });
  t.teardown(() => r.dispose());
  const seqs = [[9, 8, 7, 6, 5], [20, 21, 22, 23, 24, 25, 26, 27, 28], [1, 2, 3, 4, 5, 6, 7]];
  for (const [slot, s] of seqs.entries()) await r.prefill(slot, Int32Array.from(s));
  r.release(0);
  const logits = await r.decode([2, 1], Int32Array.of(60, 61));
  for (const [i, [slot, next]] of [[2, 60], [1, 61]].entries()) {
    const err = relativeError(logits.subarray(i * d.vocabSize, (i + 1) * d.vocabSize), referenceLogits(model.reference, d, [...seqs[slot], next]));
    t.ok(err < 5e-3, `slot ${slot} against the float64 reference: ${err.toExponential(2)}`);
  }
});

t.test('narrowView: each row\'s first positions, zeros past its length, in the layout of view()', async (t) => {
  const store = new KvStore({ layers: 1, maxSlots: 3, kvHeads: 2, maxContext: 64, headDim: 2 });
  const lengths = [3, 1, 0];
  for (const [slot, len] of lengths.entries()) {
    const row = store.row(slot);
    store.reserve(slot, len);
    // value = 100·row + 10·head + position, keys positive and values negative
    const k = Float32Array.from({ length: 2 * len * 2 }, (_, i) => 100 * row + 10 * Math.floor(i / (len * 2)) + Math.floor((i % (len * 2)) / 2));
    store.write(0, row, k, k.map((x) => -x), 0, len);
    store.append(row, len);
  }
  const narrow = store.narrowView(0, 0, 3, 2);
  const expected = (sign: number) => [0, 1, 2].flatMap((row) => [0, 1].flatMap((h) => [0, 1].flatMap((p) => (p < lengths[row] ? [sign * (100 * row + 10 * h + p), sign * (100 * row + 10 * h + p)] : [0, 0]))));
  t.same(Array.from(narrow.k), expected(1), 'keys [3 rows, 2 heads, width 2, headDim 2]');
  t.same(Array.from(narrow.v).map((x) => x + 0), expected(-1), 'values');
  t.equal(store.stride, 32, 'the store keeps its stride');
});

for (const kvCache of ['float32', 'float16'] as const) {
  t.test(`${kvCache} cache: a prefill chunk after a short past reads copies of it, with the reference's logits`, async (t) => {
    const model = await tinyModel(`qwen3-asr-graph-kv-cache-narrow-${kvCache}`);
    const d = model.decoder;
    const r = await createDecoderRunner({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'fp32', device: 'cpu', threads: 1, maxSlots: 2, maxContext: 96, kvCache });
    t.teardown(() => r.dispose());
    const first = [11, 12, 13, 14, 15];
    const chunk = Array.from({ length: 40 }, (_, i) => 30 + i); // stride 64 after it: the 5-token past is read as 5, not 64
    await r.prefill(1, Int32Array.of(40, 41, 42)); // a neighbour row, left alone
    await r.prefill(0, Int32Array.from(first));
    const logits = await r.prefill(0, Int32Array.from(chunk));
    const err = relativeError(logits, referenceLogits(model.reference, d, [...first, ...chunk]));
    t.ok(err < (kvCache === 'float32' ? 1e-4 : 5e-3), `against the float64 reference: ${err.toExponential(2)}`);
    const next = await r.decode([0, 1], Int32Array.of(70, 71));
    const errs = [[...first, ...chunk, 70], [40, 41, 42, 71]].map((ids, i) => relativeError(next.subarray(i * d.vocabSize, (i + 1) * d.vocabSize), referenceLogits(model.reference, d, ids)));
    t.ok(Math.max(...errs) < (kvCache === 'float32' ? 1e-4 : 5e-3), `the next decode step, both rows: ${errs.map((e) => e.toExponential(2)).join(', ')}`);
  });
}
