// What the encoder and decoder stages both tell their runner: where the model
// and cache are, the device and threads from the stage's YAML, and the
// precision option (same schema in both stages).
import type { StageEnv } from '../../../src/runtime/contracts.js';
import type { ConvertProgress } from '../graph/convert.js';
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
  return { modelPath: env.modelPath, cacheDir: env.cacheDir, precision, device: env.device, threads: env.threads, onProgress: conversionLog(env, precision) };
}

/** Steps of the conversion progress written to the log. */
const LOGGED_STEPS = 10;

/**
 * A first start converts the checkpoint (a minute or more for the real models) before the stage
 * is ready; the log says so, and how far it got, instead of leaving /health at 503 in silence.
 */
function conversionLog(env: StageEnv, precision: Precision): (p: ConvertProgress) => void {
  const parts = new Map<string, { logged: number; started: number }>();
  return ({ part, doneElements, totalElements }) => {
    let state = parts.get(part);
    if (!state) {
      parts.set(part, (state = { logged: 0, started: performance.now() }));
      env.log?.('info', `converting the checkpoint's ${part} to an ONNX graph (${precision}); it is cached for later starts`, { part, precision });
    }
    const step = Math.floor((LOGGED_STEPS * doneElements) / totalElements);
    if (step <= state.logged) return;
    state.logged = step;
    const percent = Math.round((100 * step) / LOGGED_STEPS);
    env.log?.('info', `converting ${part}: ${percent}%`, { part, precision, percent, seconds: Math.round((performance.now() - state.started) / 100) / 10 });
  };
}
