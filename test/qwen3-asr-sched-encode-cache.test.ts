// EncodeCache: identical audio is encoded once — within a batch, across
// batches (LRU) and while an earlier batch is still encoding (single flight).
import t from 'tap';
import { EncodeCache, fingerprint } from '../stages/common/engine/encode-cache.js';

/** Fake encoder: embedding = input * 10, one row; records every batch it saw. */
function recorder(delayMs = 0) {
  const batches: number[][] = [];
  const encode = async (inputs: number[]) => {
    batches.push(inputs);
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    return inputs.map((x) => Float32Array.of(x * 10, x));
  };
  return { batches, encode };
}

const clip = (x: number) => ({ key: `k${x}`, input: x });

t.test('duplicates within a batch are encoded once; results keep the order', async (t) => {
  const cache = new EncodeCache<number>({ maxEntries: 8, maxBytes: 1 << 20 });
  const { batches, encode } = recorder();
  const out = await cache.encodeAll([clip(1), clip(2), clip(1), clip(3)], encode);
  t.same(batches, [[1, 2, 3]]);
  t.same(out.map((e) => e[0]), [10, 20, 10, 30]);
  t.not(out[0], out[2], 'each caller gets its own copy');
});

t.test('cached clips skip the encoder; the LRU evicts the least recent', async (t) => {
  const cache = new EncodeCache<number>({ maxEntries: 2, maxBytes: 1 << 20 });
  const { batches, encode } = recorder();
  await cache.encodeAll([clip(1), clip(2)], encode);
  await cache.encodeAll([clip(1)], encode); // 1 becomes most recent
  await cache.encodeAll([clip(3)], encode); // evicts 2
  await cache.encodeAll([clip(1), clip(2)], encode);
  t.same(batches, [[1, 2], [3], [2]]);
  t.equal(cache.hits, 2);
  t.equal(cache.size, 2);
});

t.test('a copy handed out can be detached without harming the cache', async (t) => {
  const cache = new EncodeCache<number>({ maxEntries: 2, maxBytes: 1 << 20 });
  const { encode } = recorder();
  const [first] = await cache.encodeAll([clip(4)], encode);
  structuredClone(first.buffer, { transfer: [first.buffer] });
  t.equal(first.length, 0, 'detached');
  const [again] = await cache.encodeAll([clip(4)], encode);
  t.same([...again], [40, 4]);
});

t.test('a clip being encoded is awaited, not encoded again', async (t) => {
  const cache = new EncodeCache<number>({ maxEntries: 8, maxBytes: 1 << 20 });
  const { batches, encode } = recorder(20);
  const [a, b] = await Promise.all([cache.encodeAll([clip(5)], encode), cache.encodeAll([clip(5), clip(6)], encode)]);
  t.same(batches, [[5], [6]]);
  t.same([a[0][0], b[0][0], b[1][0]], [50, 50, 60]);
});

t.test('the byte limit bounds the cache; a failed encode is not cached', async (t) => {
  const cache = new EncodeCache<number>({ maxEntries: 100, maxBytes: 16 });
  const { batches, encode } = recorder();
  await cache.encodeAll([clip(1), clip(2), clip(3)], encode); // 8 bytes each
  t.equal(cache.size, 2);
  const failing = async () => {
    throw new Error('boom');
  };
  await t.rejects(cache.encodeAll([clip(9)], failing), /boom/);
  await cache.encodeAll([clip(9)], encode);
  t.same(batches.at(-1), [9]);
});

t.test('fingerprints follow content and shape', async (t) => {
  const a = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i));
  const b = a.slice();
  t.equal(fingerprint(a, 2), fingerprint(b, 2));
  t.not(fingerprint(a, 2), fingerprint(a, 4));
  b[100] += 1e-6;
  t.not(fingerprint(a, 2), fingerprint(b, 2));
  t.equal(fingerprint(a.subarray(128), 1), fingerprint(a.slice(128), 1), 'views hash their own bytes only');
});
