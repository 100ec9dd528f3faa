// What the encoder and decoder stages both tell their runner: where the model
// and cache are, the device and threads from the stage's YAML, and the
// precision option (same schema in both stages).
import type { StageEnv } from '../../../src/runtime/contracts.js';
import type { Precision, RunnerOptions } from '../runner/types.js';

export const DEFAULT_PRECISION: Precision = 'int8';

/** JSON schema of a model stage's `options:`: `precision` plus the stage's own. */
export function modelStageOptionsSchema(properties: Record<string, object>): object {
  return {
    type: 'object',
    additionalProperties: false,
    properties: { precision: { enum: ['fp32', 'fp16', 'int8', 'int4'], default: DEFAULT_PRECISION }, ...properties },
  };
}

export function runnerOptions(env: StageEnv, precision: Precision): RunnerOptions {
  return { modelPath: env.modelPath, cacheDir: env.cacheDir, precision, device: env.device, threads: env.threads };
}
