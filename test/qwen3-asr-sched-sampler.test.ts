// Sampler: greedy argmax with ties to the lowest id, seeded softmax sampling,
// and the model's log-probability of the chosen token.
import t from 'tap';
import { seededRandom } from '../stages/common/engine/prng.js';
import { Sampler } from '../stages/common/engine/sampler.js';

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
