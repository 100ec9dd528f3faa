// Factories for the Qwen3-ASR model runners: convert (or reuse cached) graphs,
// open onnxruntime sessions on the requested device.
import { ensureGraph } from '../graph/convert.js';
import { loadModelSpec } from '../graph/model-spec.js';
import { OnnxDecoderRunner } from './decoder-runner.js';
import { OnnxEncoderRunner } from './encoder-runner.js';
import { checkPrecision, createSession } from '../../common/onnx/session.js';
import type { DecoderRunner, DecoderRunnerOptions, RunnerOptions } from '../../common/engine/runner.js';
import type { EncoderRunner } from './types.js';
import { warmUpDecoder, warmUpEncoder } from './warmup.js';

export async function createEncoderRunner(opts: RunnerOptions): Promise<EncoderRunner> {
  checkPrecision(opts.precision, opts.device);
  const spec = loadModelSpec(opts.modelPath);
  const file = ensureGraph(spec, 'encoder', opts);
  const runner = new OnnxEncoderRunner(await createSession(file, opts.device, opts.threads), spec.encoder);
  await warmUpEncoder(runner, spec.encoder.numMelBins);
  return runner;
}

export async function createDecoderRunner(opts: DecoderRunnerOptions): Promise<DecoderRunner> {
  checkPrecision(opts.precision, opts.device);
  if (!(opts.maxSlots >= 1) || !(opts.maxContext >= 1)) throw new RangeError(`maxSlots and maxContext must be positive (got ${opts.maxSlots}, ${opts.maxContext})`);
  const spec = loadModelSpec(opts.modelPath);
  if (opts.maxContext > spec.decoder.maxPositions) {
    throw new RangeError(`maxContext ${opts.maxContext} exceeds the model's ${spec.decoder.maxPositions} positions`);
  }
  const session = await createSession(ensureGraph(spec, 'decoder', opts), opts.device, opts.threads, opts.spin);
  // Prefill (many rows) and decode steps (a few) may want different int8 kernels (issue 18).
  const prefillKernel = opts.prefillQuantKernel ?? opts.quantKernel ?? 'blockwise';
  const prefillSession = prefillKernel === (opts.quantKernel ?? 'blockwise')
    ? undefined
    : await createSession(ensureGraph(spec, 'decoder', { ...opts, quantKernel: prefillKernel }), opts.device, opts.threads, opts.spin);
  const runner = new OnnxDecoderRunner(session, spec.decoder, opts.maxSlots, opts.maxContext, prefillSession);
  await warmUpDecoder(runner, spec.decoder.audioTokenId, spec.decoder.hidden);
  return runner;
}
