// Factory for the aligner runner: converts (or reuses cached) graphs through the
// shared cache, opens both sessions on the requested device, and warms them up
// with one 10 s clip so the first request does not pay onnxruntime's first-run
// allocations.
import { checkPrecision, createSession } from '../../common/onnx/session.js';
import type { RunnerOptions } from '../../common/engine/runner.js';
import { OnnxEncoderRunner } from '../../qwen3-asr/runner/encoder-runner.js';
import { ensureAlignerGraph } from '../graph/convert.js';
import { loadAlignerSpec, type AlignerSpec } from '../graph/model-spec.js';
import { OnnxAlignerRunner } from './aligner-runner.js';

/** Padded tokens per classifier run: 8 clips of 30 s (390 audio tokens + ~100 words · 3). */
export const DEFAULT_MAX_RUN_TOKENS = 8 * 700;
const WARMUP_FRAMES = 1000;

export async function createAlignerRunner(opts: RunnerOptions & { maxRunTokens?: number }): Promise<{ runner: OnnxAlignerRunner; spec: AlignerSpec }> {
  checkPrecision(opts.precision, opts.device);
  const spec = loadAlignerSpec(opts.modelPath);
  const encoderFile = ensureAlignerGraph(spec, 'encoder', opts);
  const classifierFile = ensureAlignerGraph(spec, 'classifier', opts);
  const encoder = new OnnxEncoderRunner(await createSession(encoderFile, opts.device, opts.threads), spec.encoder);
  const runner = new OnnxAlignerRunner(encoder, await createSession(classifierFile, opts.device, opts.threads), spec.classifier.classes, opts.maxRunTokens ?? DEFAULT_MAX_RUN_TOKENS);
  const timestamp = spec.config.timestampTokenId;
  await runner.align([{
    mel: new Float32Array(spec.encoder.numMelBins * WARMUP_FRAMES), frames: WARMUP_FRAMES,
    prompt: (n) => ({ ids: Int32Array.from({ length: n + 40 }, (_, i) => (i < n ? spec.config.audioTokenId : i % 3 ? timestamp : 0)), slots: Int32Array.from({ length: 26 }, (_, i) => n + 1 + 3 * Math.floor(i / 2) + (i % 2)) }),
  }]);
  return { runner, spec };
}
