// Error codes the runtime itself produces (stages bring their own codes).
import { PipelineError, type StageErrorInfo } from './contracts.js';

export const ERR_QUEUE_FULL = 'ERR_QUEUE_FULL';
export const ERR_OVERLOADED = 'ERR_OVERLOADED';
export const ERR_CANCELLED = 'ERR_CANCELLED';
export const ERR_SHUTTING_DOWN = 'ERR_SHUTTING_DOWN';
export const ERR_STAGE_CRASHED = 'ERR_STAGE_CRASHED';
export const ERR_STAGE_FAILED = 'ERR_STAGE_FAILED';
export const ERR_STAGE_UNAVAILABLE = 'ERR_STAGE_UNAVAILABLE';

/** Status for a request whose client went away (nginx's convention; nobody reads it). */
export const STATUS_CLIENT_CLOSED = 499;

/** A thrown value as StageErrorInfo: StageError-like objects keep their fields, anything else is a 500. */
export function toErrorInfo(err: unknown, stage: string): StageErrorInfo {
  const e = err as { code?: unknown; status?: unknown; param?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string' && typeof e.status === 'number') {
    return { code: e.code, message: String(e.message), status: e.status, param: typeof e.param === 'string' ? e.param : undefined };
  }
  return { code: ERR_STAGE_FAILED, message: `stage ${stage} failed: ${e instanceof Error ? e.message : String(err)}`, status: 500 };
}

export function fromErrorInfo(info: StageErrorInfo): PipelineError {
  return new PipelineError(info.code, info.message, info.status, info.param);
}

export function cancelledError(): PipelineError {
  return new PipelineError(ERR_CANCELLED, 'request cancelled', STATUS_CLIENT_CLOSED);
}

export function shuttingDownError(): PipelineError {
  return new PipelineError(ERR_SHUTTING_DOWN, 'server is shutting down', 503);
}
