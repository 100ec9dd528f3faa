// The encoder ONNX graph against the float64 reference on a tiny random
// checkpoint: shorter than one chunk, exactly N chunks, a padded tail, several
// attention windows, clips batched together and split across runs.
import t from 'tap';
import { ensureGraph } from '../stages/qwen3-asr/graph/convert.js';
import { loadModelSpec } from '../stages/qwen3-asr/graph/model-spec.js';
import { referenceEncode } from '../stages/qwen3-asr/reference/encoder.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { seededValues, tinyModel } from '../stages/qwen3-asr/reference/fixture.js';
import { OnnxEncoderRunner } from '../stages/qwen3-asr/runner/encoder-runner.js';
import { createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { createSession } from '../stages/common/onnx/session.js';
import type { MelInput } from '../stages/qwen3-asr/runner/types.js';

const model = await tinyModel('qwen3-asr-graph-encoder');
const mel = (frames: number, seed: number): MelInput => ({ frames, mel: seededValues(model.encoder.numMelBins * frames, seed, 1.5) });
// 57: one unpadded chunk; 300: exactly 3 chunks; 937: padded tail; 1000: 130 tokens = 2 windows; 2050: 3 windows.
const clips = [mel(57, 1), mel(300, 2), mel(937, 3), mel(1000, 4), mel(2050, 5)];
const reference = clips.map((c) => referenceEncode(model.reference, model.encoder, c.mel, c.frames));
const opts = { modelPath: model.dir, cacheDir: model.cacheDir, device: 'cpu', threads: 1 };

t.test('fp32 graph matches the float64 reference within 1e-4 relative', async (t) => {
  const runner = await createEncoderRunner({ ...opts, precision: 'fp32' });
  t.teardown(() => runner.dispose());
  const out = await runner.encode(clips);
  clips.forEach((c, i) => {
    t.equal(out[i].length, reference[i].tokens * model.encoder.outputDim, `T=${c.frames}: ${reference[i].tokens} tokens`);
    t.ok(relativeError(out[i], reference[i].data) < 1e-4, `T=${c.frames}: relative error ${relativeError(out[i], reference[i].data).toExponential(2)}`);
  });
  const alone = await runner.encode([clips[2]]);
  t.ok(relativeError(alone[0], out[2]) < 1e-5, 'a clip encodes the same alone and in a batch');
});

t.test('clips split across runs at window boundaries give the same tokens', async (t) => {
  const spec = loadModelSpec(model.dir);
  const file = ensureGraph(spec, 'encoder', { ...opts, precision: 'fp32' });
  const runner = new OnnxEncoderRunner(await createSession(file, 'cpu', 1), spec.encoder, 8);
  t.teardown(() => runner.dispose());
  const out = await runner.encode([clips[4], clips[3]]);
  t.ok(relativeError(out[0], reference[4].data) < 1e-4, '2050 frames over 3 runs of ≤ 8 chunks');
  t.ok(relativeError(out[1], reference[3].data) < 1e-4, '1000 frames over 2 runs');
});

// Weight-only quantisation with int8 activations (accuracy level 4): the
// tolerances are what block-32 min/max quantisation gives on this random model.
for (const [precision, tolerance] of [['int8', 0.05], ['int4', 0.25]] as const) {
  t.test(`${precision} graph runs and stays within ${tolerance} relative of the reference`, async (t) => {
    const runner = await createEncoderRunner({ ...opts, precision });
    t.teardown(() => runner.dispose());
    const out = await runner.encode([clips[0], clips[3]]);
    for (const [i, r] of [reference[0], reference[3]].entries()) {
      const err = relativeError(out[i], r.data);
      t.ok(err < tolerance && err > 0, `relative error ${err.toExponential(2)}`);
    }
  });
}
