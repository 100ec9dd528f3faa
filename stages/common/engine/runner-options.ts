// What an ONNX model stage tells its runner: where the model and graph cache
// are, the device and threads from the stage's YAML, the precision option
// every model stage's descriptor declares, and log lines while a first start
// hashes and converts the checkpoint.
import type { StageEnv } from '../../../src/runtime/contracts.js';
import type { ConvertProgress, HashProgress } from '../graph/cache.js';
import type { Precision, RunnerOptions } from './runner.js';

/** The option every model stage's descriptor declares (`precision: { enum: [fp32, fp16, int8, int4] }`),
 *  beside its own; the stage reads them from env.options, defaults filled in by the pipeline. */
export interface ModelStageOptions {
  precision: Precision;
}

export function runnerOptions(env: StageEnv, precision: Precision): RunnerOptions {
  return {
    modelPath: env.modelPath, cacheDir: env.cacheDir, precision, device: env.device, threads: env.threads,
    onProgress: conversionLog(env, precision), onHashProgress: hashLog(env),
  };
}

/** Steps of the conversion progress written to the log. */
const LOGGED_STEPS = 10;

/** Steps of `done / total` newly reached (0 when none). */
function stepReached(state: { logged: number }, done: number, total: number): number {
  const step = Math.floor((LOGGED_STEPS * done) / total);
  if (step <= state.logged) return 0;
  state.logged = step;
  return Math.round((100 * step) / LOGGED_STEPS);
}

/**
 * A first start also hashes the weights the graph cache key covers (4.7 GB: about 4 s at the
 * 1.2 GB/s measured here, longer from a cold disk); the log says so every tenth.
 */
function hashLog(env: StageEnv): (p: HashProgress) => void {
  const parts = new Map<string, { logged: number; started: number }>();
  return ({ part, doneBytes, totalBytes }) => {
    let state = parts.get(part);
    if (!state) {
      parts.set(part, (state = { logged: 0, started: performance.now() }));
      env.log?.('info', `hashing the checkpoint's ${part} weights (${Math.round(totalBytes / 1e6)} MB) for the graph cache key; remembered for later starts`, { part, bytes: totalBytes });
    }
    const percent = stepReached(state, doneBytes, totalBytes);
    if (percent) env.log?.('info', `hashing ${part} weights: ${percent}%`, { part, percent, seconds: Math.round((performance.now() - state.started) / 100) / 10 });
  };
}

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
    const percent = stepReached(state, doneElements, totalElements);
    if (!percent) return;
    env.log?.('info', `converting ${part}: ${percent}%`, { part, precision, percent, seconds: Math.round((performance.now() - state.started) / 100) / 10 });
  };
}
