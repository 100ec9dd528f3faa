// The convolution stem block (stages/common/graph/conv.ts) against a float64 conv→GELU written
// here: onnxruntime's Conv at fp32, and the per-channel int8 path (channels-last im2col and
// MatMulInteger, one activation scale per image) within int8's error, at widths whose strided
// output lengths round differently, with each image independent of its batch neighbours.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import t from 'tap';
import { GraphBuilder } from '../stages/common/onnx/graph-builder.js';
import type { BlockContext, WeightSource } from '../stages/common/graph/context.js';
import { convGeluStack, type ConvSpec } from '../stages/common/graph/conv.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';

const H = 12;
const CH = 16; // 16·3·3 = 144 inputs per window: the middle and last layers are quantised, the first is not
const specs: ConvSpec[] = [1, 2, 3].map((i) => ({ prefix: `conv${i}`, stride: 2, pad: 1 }));
const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
for (const [i, cin] of [1, CH, CH].entries()) {
  tensors.set(`conv${i + 1}.weight`, { shape: [CH, cin, 3, 3], data: seededValues(CH * cin * 9, 11 + i, 0.6 / Math.sqrt(cin)) });
  tensors.set(`conv${i + 1}.bias`, { shape: [CH], data: seededValues(CH, 21 + i, 0.1) });
}
const weights: WeightSource = { has: (n) => tensors.has(n), shape: (n) => tensors.get(n)!.shape, float32: (n) => tensors.get(n)!.data.slice() };

/** erf to ~1e-15: its Taylor series below 3, a continued fraction above. */
const erf = (x: number) => {
  const z = Math.abs(x);
  let r: number;
  if (z < 3) { let term = z; let sum = z; for (let n = 1; n < 60; n++) { term *= -z * z / n; sum += term / (2 * n + 1); } r = (2 / Math.sqrt(Math.PI)) * sum; }
  else { let f = 0; for (let n = 60; n >= 1; n--) f = n / 2 / (z + f); r = 1 - Math.exp(-z * z) / Math.sqrt(Math.PI) / (z + f); }
  return x < 0 ? -r : r;
};

/** float64 conv (stride 2, pad 1, 3x3) → GELU per layer; returns [N, C, H', W'] and its dims. */
function reference(x: Float32Array, n: number, w: number): { y: Float64Array; h: number; w: number } {
  let cur = Float64Array.from(x); let cin = 1; let hh = H; let ww = w;
  for (let l = 1; l <= 3; l++) {
    const k = tensors.get(`conv${l}.weight`)!.data; const b = tensors.get(`conv${l}.bias`)!.data;
    const ho = Math.floor((hh - 1) / 2) + 1; const wo = Math.floor((ww - 1) / 2) + 1;
    const out = new Float64Array(n * CH * ho * wo);
    for (let i = 0; i < n; i++) for (let o = 0; o < CH; o++) for (let y = 0; y < ho; y++) for (let xo = 0; xo < wo; xo++) {
      let s = b[o];
      for (let c = 0; c < cin; c++) for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) {
        const iy = 2 * y + dy - 1; const ix = 2 * xo + dx - 1;
        if (iy >= 0 && iy < hh && ix >= 0 && ix < ww) s += cur[((i * cin + c) * hh + iy) * ww + ix] * k[((o * cin + c) * 3 + dy) * 3 + dx];
      }
      out[((i * CH + o) * ho + y) * wo + xo] = 0.5 * s * (1 + erf(s / Math.SQRT2));
    }
    cur = out; cin = CH; hh = ho; ww = wo;
  }
  return { y: cur, h: hh, w: ww };
}

async function runStack(dir: string, ctxPart: Pick<BlockContext, 'precision' | 'quantKernel'>, x: Float32Array, n: number, w: number) {
  const g = new GraphBuilder('stem');
  g.input('x', 'float32', ['n', 1, H, 'w']);
  const out = convGeluStack({ g, weights, ...ctxPart }, 'x', specs);
  // back to [N, C, H', W'] for comparison
  g.op1(out.layout === 'nchw' ? 'Identity' : 'Transpose', [out.value], out.layout === 'nchw' ? {} : { perm: [0, 3, 1, 2] }, { output: 'y' });
  g.output('y', 'float32', ['n', CH, 'h', 'w']);
  const file = path.join(dir, `${ctxPart.precision}-${ctxPart.quantKernel ?? 'default'}.onnx`);
  g.save(file);
  const session = await ort.InferenceSession.create(file);
  const y = (await session.run({ x: new ort.Tensor('float32', x, [n, 1, H, w]) })).y;
  await session.release();
  return { y: y.data as Float32Array, dims: y.dims.map(Number), layout: out.layout, model: onnxProto.onnx.ModelProto.decode(fs.readFileSync(file)) };
}

t.test('conv stem: Conv at fp32, im2col + MatMulInteger with the per-channel int8 kernel, against float64', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-conv-stem-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const n = 2;
  for (const w of [1, 2, 7, 30]) {
    const x = seededValues(n * H * w, 5 + w, 2);
    const ref = reference(x, n, w);
    const fp32 = await runStack(dir, { precision: 'fp32' }, x, n, w);
    t.same(fp32.dims, [n, CH, ref.h, ref.w], `width ${w}: fp32 output dims`);
    t.ok(relativeError(fp32.y, ref.y) < 1e-5, `width ${w}: fp32 ${relativeError(fp32.y, ref.y).toExponential(2)}`);
    const pc = await runStack(dir, { precision: 'int8', quantKernel: 'per-channel' }, x, n, w);
    t.same([pc.layout, pc.dims], ['nhwc', [n, CH, ref.h, ref.w]], `width ${w}: per-channel output is channels-last, same dims`);
    const err = relativeError(pc.y, ref.y);
    t.ok(err < 3e-2 && err > 0, `width ${w}: per-channel int8 ${err.toExponential(2)}`);
    const ops = pc.model.graph!.node!.map((node) => node.opType);
    t.same([ops.filter((op) => op === 'Conv').length, ops.filter((op) => op === 'MatMulInteger').length, ops.filter((op) => op === 'MatMul').length], [0, 2, 1],
      `width ${w}: no Conv; the one-channel first layer in fp32, the other two int8`);
  }
  // The activation scale is per image: an image 100x louder beside another leaves the other's output unchanged.
  const w = 30;
  const quiet = seededValues(n * H * w, 3, 1);
  const loud = quiet.slice();
  for (let i = 0; i < H * w; i++) loud[i] *= 100;
  const a = await runStack(dir, { precision: 'int8', quantKernel: 'per-channel' }, quiet, n, w);
  const b = await runStack(dir, { precision: 'int8', quantKernel: 'per-channel' }, loud, n, w);
  const half = a.y.length / 2;
  t.same(Array.from(b.y.subarray(half)), Array.from(a.y.subarray(half)), 'image 1 bit-identical whatever image 0 holds');
  t.notSame(Array.from(b.y.subarray(0, half)), Array.from(a.y.subarray(0, half)), 'image 0 did change');
  // int4 with per-channel weights stores int8 as well; blockwise keeps the exact Conv
  t.equal((await runStack(dir, { precision: 'int4', quantKernel: 'per-channel' }, quiet, n, w)).layout, 'nhwc', 'int4 per-channel: im2col');
  t.equal((await runStack(dir, { precision: 'int8', quantKernel: 'blockwise' }, quiet, n, w)).layout, 'nchw', 'int8 blockwise: Conv');
});
