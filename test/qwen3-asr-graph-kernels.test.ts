// Kernels per decode step (issue 18: 1,164 at the 0.6B shape, ~5.5 ms of each
// step outside the quantised matmuls). Counted in the graph onnxruntime runs
// after its own optimisations (common/onnx/kernel-count.ts), which depends on
// the structure only: a decoder of the 0.6B's 28 layers is built from the tiny
// checkpoint's two layers repeated (the count does not depend on the widths;
// measured on the real 0.6B int4 graph: 996, the same as here). The budgets are
// today's counts (host-stored cache 996, in-place cache 505), so a block that
// adds kernels fails here first.
import path from 'node:path';
import fs from 'node:fs';
import t from 'tap';
import { writeGraph } from '../stages/common/graph/cache.js';
import type { LinearPrecision, WeightSource } from '../stages/common/graph/context.js';
import type { KvCacheType } from '../stages/common/graph/attention.js';
import { optimizedKernelCount } from '../stages/common/onnx/kernel-count.js';
import { buildDecoder } from '../stages/qwen3-asr/graph/decoder.js';
import { loadModelSpec } from '../stages/qwen3-asr/graph/model-spec.js';
import { tinyModel } from '../stages/qwen3-asr/reference/fixture.js';

const LAYERS = 28;
/** Kernels per step of a 28-layer decoder: host-stored cache 34 per layer (was 41.5: an Identity per output, reshapes around norms and rotary), in-place 17. */
const BUDGET = { fp32: 996, int4: 996, inPlace: 505 } as const;
/** A float16 cache casts each layer's two cache views in and two new tensors out. */
const KV16_EXTRA = 4 * LAYERS;

const model = await tinyModel('qwen3-asr-graph-kernels');
const spec = loadModelSpec(model.dir);
const dims = { ...spec.decoder, layers: LAYERS };
/** Layer i reads the tiny checkpoint's layer i mod 2. */
const repeated: WeightSource = {
  has: (n) => spec.weights.has(mapLayer(n)),
  shape: (n) => spec.weights.shape(mapLayer(n)),
  float32: (n) => spec.weights.float32(mapLayer(n)),
};
function mapLayer(name: string): string {
  return name.replace(/\.layers\.(\d+)\./, (_m, i: string) => `.layers.${Number(i) % 2}.`);
}

async function count(precision: LinearPrecision, kv: KvCacheType = 'float32', inPlace = false) {
  const dir = path.join(model.cacheDir, `${precision}-${kv}-${inPlace}`);
  fs.mkdirSync(dir, { recursive: true });
  writeGraph(dir, { name: 'decoder', part: 'decoder', weights: repeated, precision, totalElements: 1, build: (ctx) => buildDecoder(ctx, dims, { type: kv, inPlace }) });
  return optimizedKernelCount(path.join(dir, 'model.onnx'));
}

for (const precision of ['fp32', 'int4'] as const) {
  t.test(`${precision}: a ${LAYERS}-layer decode step runs at most ${BUDGET[precision]} kernels`, async (t) => {
    const c = await count(precision);
    const ops = new Map(c.byOp);
    t.ok(c.total <= BUDGET[precision], `${c.total} kernels: ${c.byOp.map(([op, n]) => `${op.replace(/^:/, '')} ${n}`).join(', ')}`);
    t.notOk(ops.has(':Identity'), 'no Identity kernels (outputs are named where they are made)');
    t.equal(ops.get('com.microsoft:RotaryEmbedding'), 2 * LAYERS, 'one rotary kernel each for queries and keys');
    t.equal(ops.get('com.microsoft:SkipSimplifiedLayerNormalization'), 2 * LAYERS, 'residual adds fused into the norms');
  });
}

t.test('an in-place cache (GroupQueryAttention: attention, rotary and cache update in one kernel) halves them', async (t) => {
  const [host, inPlace] = [await count('int4'), await count('int4', 'float32', true)];
  const ops = new Map(inPlace.byOp);
  t.ok(inPlace.total <= BUDGET.inPlace, `${inPlace.total} kernels (host-stored cache: ${host.total}): ${inPlace.byOp.map(([op, n]) => `${op.replace(/^:/, '')} ${n}`).join(', ')}`);
  t.equal(ops.get('com.microsoft:GroupQueryAttention'), LAYERS, 'one attention kernel per layer');
  t.notOk(ops.has('com.microsoft:RotaryEmbedding') || ops.has(':Softmax') || ops.has(':Transpose'), 'no separate rotary, softmax or head transposes');
});

t.test('a float16 cache adds only its casts', async (t) => {
  const [f32, f16] = [await count('int4'), await count('int4', 'float16')];
  t.equal(f16.total - f32.total, KV16_EXTRA, `${f16.total} kernels with a float16 cache, ${f32.total} with float32`);
  t.equal(new Map(f16.byOp).get(':Cast')! - (new Map(f32.byOp).get(':Cast') ?? 0), KV16_EXTRA);
});
