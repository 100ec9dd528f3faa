// The decoder ONNX graph and runner against the float64 reference (full
// recompute per step) on a tiny random checkpoint: prefill with spliced audio,
// chunked prefill, 20 greedy steps, batched decode with different lengths per
// slot, slot release and reuse, quantised variants, bad inputs; on the host-stored
// and the in-place (GroupQueryAttention) cache layouts alike.
import t, { type Test } from 'tap';
import { referenceGreedy, referenceLogits } from '../stages/qwen3-asr/reference/decoder.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { argmax, seededValues, tinyModel } from '../stages/qwen3-asr/reference/fixture.js';
import { createDecoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { DecoderRunner, Precision } from '../stages/common/engine/runner.js';

const model = await tinyModel('qwen3-asr-graph-decoder');
const d = model.decoder;
const A = d.audioTokenId;
const audio = seededValues(6 * d.hidden, 11, 1);
const prompt = [1, 2, 3, 4, A, A, A, A, A, A, 5, 6, 7];
const others = [[9, 8, 7, 6, 5], [20, 21, 22, 23, 24, 25, 26, 27, 28]];
/**
 * Every test runs on both cache layouts: the host stores the keys/values the graph returns, or the
 * graph's GroupQueryAttention updates the bound cache views in place (graph/decoder.ts DecoderCache).
 */
const CACHES: [string, { kvInPlace?: boolean }][] = [['host-stored cache', {}], ['in-place cache (GroupQueryAttention)', { kvInPlace: true }]];
const ids = (a: number[]) => Int32Array.from(a);

/** The suite below, on one cache layout. */
function suite(t: Test, cache: { kvInPlace?: boolean }): void {
  const open = (precision: Precision, maxSlots = 4, maxContext = 64) =>
    createDecoderRunner({ modelPath: model.dir, cacheDir: model.cacheDir, precision, device: 'cpu', threads: 1, maxSlots, maxContext, ...cache });

  async function withRunner(t: { teardown(fn: () => unknown): void }, precision: Precision, maxSlots?: number, maxContext?: number): Promise<DecoderRunner> {
    const r = await open(precision, maxSlots, maxContext);
    t.teardown(() => r.dispose());
    return r;
  }

  t.test('prefill logits match the reference; chunked prefill matches one-shot', async (t) => {
    const r = await withRunner(t, 'fp32');
    t.equal(r.length(0), 0, "the load-time warm-up run left slot 0 empty (and this slot's logits below show nothing of it)");
    const ref = referenceLogits(model.reference, d, prompt, audio);
    const whole = await r.prefill(0, ids(prompt), audio);
    t.ok(relativeError(whole, ref) < 1e-4, `one shot: ${relativeError(whole, ref).toExponential(2)}`);
    await r.prefill(1, ids(prompt.slice(0, 5)), audio.subarray(0, d.hidden));
    const chunked = await r.prefill(1, ids(prompt.slice(5)), audio.subarray(d.hidden));
    t.ok(relativeError(chunked, ref) < 1e-4, `two chunks, audio split between them: ${relativeError(chunked, ref).toExponential(2)}`);
    t.equal(r.length(1), prompt.length);
  });

  t.test('20 greedy steps give the reference token ids', async (t) => {
    const r = await withRunner(t, 'fp32');
    const expected = referenceGreedy(model.reference, d, prompt, audio, 20);
    const got: number[] = [];
    let logits = await r.prefill(2, ids(prompt), audio);
    for (let i = 0; i < 20; i++) {
      got.push(argmax(logits));
      logits = await r.decode([2], ids([got[i]]));
    }
    t.same(got, expected);
    t.equal(r.length(2), prompt.length + 20);
  });

  t.test('a batched decode over slots of different lengths equals each slot alone', async (t) => {
    const r = await withRunner(t, 'fp32');
    const seqs = [prompt, ...others];
    const slots = [3, 0, 2];
    for (const [i, s] of slots.entries()) await r.prefill(s, ids(seqs[i]), i === 0 ? audio : undefined);
    const steps: Float32Array[] = [];
    // decode in a different order than prefill: logits come back in the order asked
    const order = [2, 3, 0];
    for (let step = 0; step < 3; step++) steps.push(await r.decode(order, ids([30 + step, 40 + step, 50 + step])));
    for (const [j, slot] of order.entries()) {
      const alone = await withRunner(t, 'fp32', 1);
      const i = slots.indexOf(slot);
      await alone.prefill(0, ids(seqs[i]), i === 0 ? audio : undefined);
      for (let step = 0; step < 3; step++) {
        const solo = await alone.decode([0], ids([[30, 40, 50][j] + step]));
        const batched = steps[step].subarray(j * d.vocabSize, (j + 1) * d.vocabSize);
        t.ok(relativeError(batched, solo) < 1e-5, `slot ${slot} step ${step}: ${relativeError(batched, solo).toExponential(2)}`);
      }
    }
    const seq = [...seqs[2], 30, 31, 32];
    t.ok(relativeError(steps[2].subarray(0, d.vocabSize), referenceLogits(model.reference, d, seq)) < 1e-4, 'and the reference agrees (slot 2, step 3)');
  });

  t.test('a sampled audio_pad in a batched decode step is an ordinary token', async (t) => {
    // Decode steps carry no audio rows; with several rows feeding audio_token_id at once
    // the splice must not index past the (empty) audio table.
    const r = await withRunner(t, 'fp32');
    await r.prefill(0, ids(prompt), audio);
    await r.prefill(1, ids(others[0]));
    const logits = await r.decode([0, 1], ids([A, A]));
    const expected = [referenceLogits(model.reference, d, [...prompt, A], audio), referenceLogits(model.reference, d, [...others[0], A])];
    expected.forEach((ref, row) => {
      const err = relativeError(logits.subarray(row * d.vocabSize, (row + 1) * d.vocabSize), ref);
      t.ok(err < 1e-4, `row ${row}: ${err.toExponential(2)}`);
    });
  });

  t.test('released slots are reused; the moved sequence keeps its cache', async (t) => {
    const r = await withRunner(t, 'fp32', 3);
    await r.prefill(0, ids(others[0]));
    await r.prefill(1, ids(others[1]));
    await r.prefill(2, ids(prompt), audio);
    r.release(0);
    t.equal(r.length(0), 0);
    // slot 2 (the last row) moved into row 0; check it and slot 1 against the reference
    const logits = await r.decode([2, 1], ids([60, 61]));
    t.ok(relativeError(logits.subarray(0, d.vocabSize), referenceLogits(model.reference, d, [...prompt, 60], audio)) < 1e-4, 'moved slot');
    t.ok(relativeError(logits.subarray(d.vocabSize), referenceLogits(model.reference, d, [...others[1], 61])) < 1e-4, 'untouched slot');
    const fresh = await r.prefill(0, ids([5, 4, 3]));
    t.ok(relativeError(fresh, referenceLogits(model.reference, d, [5, 4, 3])) < 1e-4, 'the freed slot starts empty');
  });

  t.test('the cache layout grows and shrinks with the longest sequence without losing anything', async (t) => {
    const r = await withRunner(t, 'fp32', 3, 400);
    const seq = (n: number, from: number) => Array.from({ length: n }, (_, i) => (from + i * 7) % (A - 1));
    const a = seq(70, 3); // past the first 64-position stride: the layout grows
    const b = seq(10, 5);
    const c = seq(200, 9); // grows again
    await r.prefill(0, ids(a));
    await r.prefill(1, ids(b));
    await r.prefill(2, ids(c));
    let logits = await r.decode([0, 1, 2], ids([1, 2, 3]));
    a.push(1); b.push(2); c.push(3);
    for (const [i, s] of [a, b, c].entries()) {
      t.ok(relativeError(logits.subarray(i * d.vocabSize, (i + 1) * d.vocabSize), referenceLogits(model.reference, d, s)) < 1e-4, `${s.length} tokens after growing`);
    }
    r.release(2); // the longest leaves: the layout shrinks back
    r.release(0); // slot 1 moves into row 0
    logits = await r.decode([1], ids([4]));
    b.push(4);
    t.ok(relativeError(logits, referenceLogits(model.reference, d, b)) < 1e-4, 'the remaining sequence after shrinking and moving');
  });

  t.test('bad calls fail with named errors', async (t) => {
    const r = await withRunner(t, 'fp32', 2, 16);
    await t.rejects(r.prefill(0, ids(prompt), audio.subarray(0, 5 * d.hidden)), { code: 'ERR_DECODER_INPUT' });
    await t.rejects(r.prefill(0, ids(prompt)), { code: 'ERR_DECODER_INPUT', message: /no audio embeddings/ });
    await t.rejects(r.prefill(0, ids([])), { code: 'ERR_DECODER_INPUT' });
    await t.rejects(r.prefill(0, ids(new Array(17).fill(1))), { code: 'ERR_KV_CAPACITY' });
    await t.rejects(r.prefill(2, ids([1])), { code: 'ERR_KV_CAPACITY', message: /slot 2/ });
    await t.rejects(r.decode([0, 0], ids([1, 2])), { code: 'ERR_DECODER_INPUT' });
    t.equal(r.length(0), 0, 'nothing was stored by the failed calls');
  });

  for (const [precision, tolerance] of [['int8', 0.1], ['int4', 0.5]] as const) {
    t.test(`${precision} decoder runs and stays within ${tolerance} relative of the reference`, async (t) => {
      const r = await withRunner(t, precision);
      const ref = referenceLogits(model.reference, d, prompt, audio);
      const logits = await r.prefill(0, ids(prompt), audio);
      const err = relativeError(logits, ref);
      t.ok(err < tolerance && err > 0, `prefill: ${err.toExponential(2)}`);
      const step = await r.decode([0], ids([argmax(logits)]));
      t.equal(step.length, d.vocabSize);
    });
  }
}

for (const [name, cache] of CACHES) t.test(name, async (t) => suite(t, cache));
