// The encoder's conv stem alone, at fp32 (onnxruntime's Conv) and with the per-channel int8
// kernel (channels-last im2col + MatMulInteger, stages/common/graph/conv.ts), side by side in
// one run: the Qwen3-ASR shape (three 3x3 stride-2 convs with GELU, 1 → c → c → c channels over
// 128 mel bins) on --chunks 1 s chunks, random weights, the sessions the stages use (2 threads,
// no spinning). Rounds alternate the two; each sample carries the CPU other processes took
// (bench/quiet.ts), a disturbed one is retaken, and the ratio is refused if one stays disturbed.
// Also the int8 path's error against fp32 (max |Δ| / max |fp32|).
// Usage: node dist/bench/conv-stem.js [--size 0.6b|1.7b] [--chunks 10] [--runs 9] [--max-other-cores 0.1]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { convGeluStack } from '../stages/common/graph/conv.js';
import type { BlockContext, WeightSource } from '../stages/common/graph/context.js';
import { GraphBuilder } from '../stages/common/onnx/graph-builder.js';
import { createSession } from '../stages/common/onnx/session.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { CHECKPOINT_SHAPES, type CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';
import { parseScriptArgs } from './args.js';
import { QuietMeter, Series, quietSample, ratioLine, runLine } from './quiet.js';

const { values } = parseScriptArgs('Usage: node dist/bench/conv-stem.js [--size 0.6b|1.7b] [--chunks 10] [--runs 9] [--max-other-cores 0.1]\nThe encoder conv stem at fp32 and with the per-channel int8 kernel, side by side.', {
  options: {
    size: { type: 'string', default: '0.6b' },
    chunks: { type: 'string', default: '10' },
    runs: { type: 'string', default: '9' },
    'max-other-cores': { type: 'string', default: '0.1' },
  },
});
const MEL_BINS = 128;
const FRAMES = 100;
const channels = CHECKPOINT_SHAPES[values.size as CheckpointSize].audio.downsample;
const chunks = Number(values.chunks);
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']) });
console.log(await meter.banner());

const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
for (const [i, cin] of [1, channels, channels].entries()) {
  tensors.set(`conv${i}.weight`, { shape: [channels, cin, 3, 3], data: seededValues(channels * cin * 9, 3 + i, 2 / Math.sqrt(cin * 9)) });
  tensors.set(`conv${i}.bias`, { shape: [channels], data: seededValues(channels, 9 + i, 0.1) });
}
const weights: WeightSource = { has: (n) => tensors.has(n), shape: (n) => tensors.get(n)!.shape, float32: (n) => tensors.get(n)!.data.slice() };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-conv-stem-'));

/** The stem as a graph in `ctx`'s precision and kernel, output back in [N, C, H, W] order. */
async function open(label: string, ctx: Pick<BlockContext, 'precision' | 'quantKernel'>): Promise<ort.InferenceSession> {
  const g = new GraphBuilder('stem');
  g.input('x', 'float32', ['chunks', 1, MEL_BINS, FRAMES]);
  const out = convGeluStack({ g, weights, ...ctx }, 'x', [0, 1, 2].map((i) => ({ prefix: `conv${i}`, stride: 2, pad: 1 })));
  g.op1(out.layout === 'nchw' ? 'Identity' : 'Transpose', [out.value], out.layout === 'nchw' ? {} : { perm: [0, 3, 1, 2] }, { output: 'y' });
  g.output('y', 'float32', ['chunks', channels, 'h', 'w']);
  const file = path.join(dir, `${label}.onnx`);
  g.save(file);
  return createSession(file, 'cpu', 2);
}

try {
  const contenders = [
    { label: 'fp32 Conv', session: await open('fp32', { precision: 'fp32' }), series: new Series('fp32 Conv ms') },
    { label: 'int8 per-channel im2col', session: await open('int8', { precision: 'int8', quantKernel: 'per-channel' }), series: new Series('int8 ms') },
  ];
  // log-mel-like input: values around -1..1 with some structure
  const feed = { x: new ort.Tensor('float32', seededValues(chunks * MEL_BINS * FRAMES, 1, 2), [chunks, 1, MEL_BINS, FRAMES]) };
  const outputs = [];
  for (const c of contenders) outputs.push((await c.session.run(feed)).y.data as Float32Array); // warm-up
  const { quiet: run } = await meter.measure(async () => {
    for (let r = 0; r < Number(values.runs); r++) {
      for (const c of contenders) {
        const s = await quietSample(meter, () => c.session.run(feed), 2);
        c.series.add(s.quiet.wallMs, s.quiet);
      }
    }
  });
  const flop = 2 * 9 * chunks * (channels * 64 * 50 + channels * channels * (32 * 25 + 16 * 13));
  console.log(`\nconv stem ${values.size} (1 → ${channels} → ${channels} → ${channels}, 3x3/2, GELU), ${chunks} chunks of ${FRAMES} frames, ${(flop / 1e9).toFixed(1)} GFLOP, 2 threads`);
  for (const c of contenders) console.log(`  ${c.label.padEnd(24)} ${c.series.describe(1)}`);
  console.log(`  ${ratioLine('int8 vs fp32 (time ratio, < 1 is faster)', contenders[1].series, contenders[0].series, run)}`);
  console.log(`  int8 error against fp32: ${relativeError(outputs[1], outputs[0]).toExponential(2)} (max |Δ| / max |fp32|)`);
  console.log(runLine(run, meter.maxOtherCores));
  for (const c of contenders) await c.session.release();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
