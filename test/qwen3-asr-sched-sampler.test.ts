// Sampler: greedy argmax with ties to the lowest id, seeded softmax sampling,
// the model's log-probability of the chosen token, and the repetition penalty
// (logits before/after worked by hand from CTRL's rule).
import t from 'tap';
import { seededRandom } from '../stages/common/engine/prng.js';
import { applyRepetitionPenalty, Sampler } from '../stages/common/engine/sampler.js';

t.test('greedy picks the argmax; ties go to the lowest id', async (t) => {
  const greedy = new Sampler(0, 1);
  t.equal(greedy.sample(Float32Array.from([0, 3, 1, 3, 2])).id, 1);
  t.equal(greedy.sample(Float32Array.from([-5, -5, -5])).id, 0);
  t.equal(greedy.sample(Float32Array.from([-Infinity, -2, 7.5])).id, 2);
});

t.test('logprob is log softmax of the chosen logit', async (t) => {
  const logits = Float32Array.from([1, 2, 3, 0.5]);
  const { id, logprob } = new Sampler(0, 1).sample(logits);
  const denom = [1, 2, 3, 0.5].reduce((s, x) => s + Math.exp(x), 0);
  t.equal(id, 2);
  t.ok(Math.abs(logprob - (3 - Math.log(denom))) < 1e-12);
  // Large logits must not overflow.
  const big = new Sampler(0, 1).sample(Float32Array.from([1000, 999]));
  t.ok(Math.abs(big.logprob - -Math.log(1 + Math.exp(-1))) < 1e-9);
});

t.test('a sampler made without logprobs picks the same tokens and reports NaN', async (t) => {
  const logits = Float32Array.from([0.2, 1.5, -0.3, 1.1]);
  t.same(new Sampler(0, 1, false).sample(logits), { id: 1, logprob: NaN });
  const withLp = new Sampler(0.8, 7);
  const without = new Sampler(0.8, 7, false);
  const ids = (s: Sampler) => Array.from({ length: 200 }, () => s.sample(logits).id);
  t.same(ids(without), ids(withLp), 'the same seeded draws');
});

t.test('sampling follows softmax(logits / T) and repeats for the same seed', async (t) => {
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2), -Infinity]);
  const draw = (seed: number, temperature: number, n: number) => {
    const s = new Sampler(temperature, seed);
    const counts = [0, 0, 0, 0];
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const { id } = s.sample(logits);
      counts[id]++;
      ids.push(id);
    }
    return { counts, ids };
  };
  const a = draw(42, 1, 20000);
  t.same(draw(42, 1, 20000).ids, a.ids, 'same seed, same draws');
  t.notSame(draw(43, 1, 200).ids, a.ids.slice(0, 200), 'another seed, other draws');
  t.equal(a.counts[3], 0, 'a -Infinity logit is never drawn');
  [0.5, 0.3, 0.2].forEach((p, i) => t.ok(Math.abs(a.counts[i] / 20000 - p) < 0.015, `token ${i}: ${a.counts[i] / 20000} ≈ ${p}`));
  // T = 0.5 squares the probabilities before renormalising: 0.25, 0.09, 0.04 → 0.658, 0.237, 0.105.
  const cold = draw(7, 0.5, 20000);
  [0.25 / 0.38, 0.09 / 0.38, 0.04 / 0.38].forEach((p, i) => t.ok(Math.abs(cold.counts[i] / 20000 - p) < 0.015, `T=0.5 token ${i}`));
});

t.test('the generator is uniform on [0, 1) and seed-determined', async (t) => {
  const r = seededRandom(123);
  const xs = Array.from({ length: 50000 }, r);
  t.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  t.ok(Math.abs(mean - 0.5) < 0.01);
  const buckets = new Array(10).fill(0);
  for (const x of xs) buckets[Math.floor(x * 10)]++;
  t.ok(buckets.every((b) => Math.abs(b - 5000) < 300), `buckets ${buckets}`);
  t.same(Array.from({ length: 5 }, seededRandom(123)), xs.slice(0, 5));
});

t.test('a bad temperature is refused', async (t) => {
  t.throws(() => new Sampler(-1, 1), RangeError);
  t.throws(() => new Sampler(NaN, 1), RangeError);
});

t.test('repetition penalty: a generated token\'s positive logit is divided, a negative one multiplied', async (t) => {
  const logits = Float32Array.from([2, -1, 0.5, 3, -0.25]);
  const before = Array.from(logits);
  // Tokens 3 and 1 were generated (3 twice: penalised once), 4 too; penalty 2.
  const saved = applyRepetitionPenalty(logits, [3, 1, 3, 4], 2);
  t.same(Array.from(logits), [2, -2, 0.5, 1.5, -0.5], 'after: 3 → 3/2, -1 → -1·2, -0.25 → -0.25·2; others unchanged');
  t.same([...saved], [[3, 3], [1, -1], [4, -0.25]], 'the originals, to restore');
  // A penalty below 1 favours repeats: 3 / 0.5 = 6, -1 · 0.5 = -0.5.
  const favour = Float32Array.from(before);
  applyRepetitionPenalty(favour, [3, 1], 0.5);
  t.same(Array.from(favour), [2, -0.5, 0.5, 6, -0.25]);

  const greedy = new Sampler(0, 1);
  const row = Float32Array.from(before);
  t.equal(greedy.sample(row).id, 3, 'no history: the argmax');
  const penalised = greedy.sample(row, [3], 2);
  t.equal(penalised.id, 0, 'with 3 generated and penalty 2, 3 → 1.5 < 2: token 0 wins');
  t.same(Array.from(row), before, 'the caller\'s logits are left as they were');
  const denom = before.reduce((s, x) => s + Math.exp(x), 0);
  t.ok(Math.abs(penalised.logprob - (2 - Math.log(denom))) < 1e-12, 'logprob is the model\'s own, before the penalty');
  t.equal(greedy.sample(row, [3], 1).id, 3, 'penalty 1 is off');
  for (const bad of [0, -1, Number.NaN, Infinity]) t.throws(() => greedy.sample(row, [3], bad), RangeError, `penalty ${bad}`);
});

t.test('repetition penalty reshapes the sampled distribution as computed', async (t) => {
  // Probabilities 0.5, 0.3, 0.2; token 0 generated, penalty 2: log 0.5 · 2 = log 0.25,
  // so the draw follows 0.25, 0.3, 0.2 renormalised: 1/3, 0.4, 0.267.
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.2)]);
  const sampler = new Sampler(1, 11);
  const counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampler.sample(logits, [0], 2).id]++;
  [0.25 / 0.75, 0.3 / 0.75, 0.2 / 0.75].forEach((p, i) => t.ok(Math.abs(counts[i] / 20000 - p) < 0.015, `token ${i}: ${counts[i] / 20000} ≈ ${p.toFixed(3)}`));
});
