// The runtime's half of the error catalogue (the server's half, kinds → HTTP,
// is src/server/errors.ts; docs/ERRORS.md lists both): the codes the runtime
// raises itself, each with its kind, and how a thrown value crosses the thread.
// Stages bring their own codes; they and the runtime say what kind of failure
// happened, and only the server decides the status.
import { isErrorKind, PipelineError, StageError, type ErrorKind, type StageErrorInfo } from './contracts.js';

export const ERR_QUEUE_FULL = 'ERR_QUEUE_FULL';
export const ERR_OVERLOADED = 'ERR_OVERLOADED';
export const ERR_CANCELLED = 'ERR_CANCELLED';
export const ERR_SHUTTING_DOWN = 'ERR_SHUTTING_DOWN';
export const ERR_STAGE_CRASHED = 'ERR_STAGE_CRASHED';
export const ERR_STAGE_FAILED = 'ERR_STAGE_FAILED';
export const ERR_STAGE_UNAVAILABLE = 'ERR_STAGE_UNAVAILABLE';
/** A payload field the stage before should have set: a wiring fault, not the client's. */
export const ERR_BAD_PAYLOAD = 'ERR_BAD_PAYLOAD';

/** The runtime's own codes: kind and what each means (docs/ERRORS.md is generated from this). */
export const RUNTIME_ERRORS: Record<string, { kind: ErrorKind; means: string }> = {
  [ERR_QUEUE_FULL]: { kind: 'overloaded', means: "A stage's queue holds queue.max items; retry after Retry-After." },
  [ERR_OVERLOADED]: { kind: 'overloaded', means: 'admission.max_running requests run and max_waiting wait; retry after Retry-After.' },
  [ERR_CANCELLED]: { kind: 'cancelled', means: 'The client went away; its work was stopped.' },
  [ERR_SHUTTING_DOWN]: { kind: 'unavailable', means: 'The server is stopping and takes no new work.' },
  [ERR_STAGE_CRASHED]: { kind: 'internal', means: "A stage's worker thread died; the items it held fail, a new worker starts." },
  [ERR_STAGE_FAILED]: { kind: 'internal', means: "A stage's process() threw or returned no result for the item; the plugin's stack is logged." },
  [ERR_STAGE_UNAVAILABLE]: { kind: 'unavailable', means: 'A stage failed to load (the reason is in /health and the log).' },
  [ERR_BAD_PAYLOAD]: { kind: 'internal', means: 'A stage did not find a payload field the stage before it should have set (a miswired pipeline).' },
};

/** A runtime error by code, with the code's kind. */
export function runtimeError(code: keyof typeof RUNTIME_ERRORS, message: string, retryAfterS?: number): PipelineError {
  return new PipelineError(code, message, RUNTIME_ERRORS[code].kind, undefined, retryAfterS);
}

/** The same as StageErrorInfo, for results a worker makes itself. */
export function runtimeErrorInfo(code: keyof typeof RUNTIME_ERRORS, message: string): StageErrorInfo {
  return { code, message, kind: RUNTIME_ERRORS[code].kind };
}

/**
 * The error a stage raises for a payload field the stage before it should have set: a miswired
 * pipeline (config check catches it for described plugins), so `internal`, never the client's.
 */
export function badPayload(stage: string, field: string, expected: string): StageError {
  return new StageError(ERR_BAD_PAYLOAD, `${stage}: payload field '${field}' must be ${expected}`, RUNTIME_ERRORS[ERR_BAD_PAYLOAD].kind);
}

/**
 * A thrown value as StageErrorInfo: StageError-like objects (a code and a known kind) keep their
 * code, kind and param; anything else is internal. An internal error keeps its stack, which is the
 * plugin's own (it was thrown in the worker), so the log shows where it happened.
 */
export function toErrorInfo(err: unknown, stage: string): StageErrorInfo {
  const e = err as { code?: unknown; kind?: unknown; param?: unknown; message?: unknown; stack?: unknown } | null;
  const stack = typeof e?.stack === 'string' ? e.stack : undefined;
  if (e && typeof e.code === 'string' && isErrorKind(e.kind)) {
    const info: StageErrorInfo = { code: e.code, message: String(e.message), kind: e.kind, param: typeof e.param === 'string' ? e.param : undefined };
    if (e.kind === 'internal' && stack) info.stack = stack;
    return info;
  }
  const info = runtimeErrorInfo(ERR_STAGE_FAILED, `stage ${stage} failed: ${typeof e?.message === 'string' ? e.message : String(err)}`);
  if (stack) info.stack = stack;
  return info;
}

/** The main thread's rejection for an item's error; an internal error carries the worker's stack as its own. */
export function fromErrorInfo(info: StageErrorInfo): PipelineError {
  const err = new PipelineError(info.code, info.message, info.kind, info.param);
  if (info.stack) err.stack = `${err.name}: ${info.message}\n    (thrown in the stage's worker:)\n${info.stack}`;
  return err;
}

export function cancelledError(): PipelineError {
  return runtimeError(ERR_CANCELLED, 'request cancelled');
}

export function shuttingDownError(): PipelineError {
  return runtimeError(ERR_SHUTTING_DOWN, 'server is shutting down');
}
