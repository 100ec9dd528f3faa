// Error codes of model stages built on the shared engine (StageError: the
// runtime carries code, status and param to the HTTP layer).
import { StageError } from '../../../src/runtime/contracts.js';
import { ERR_CANCELLED } from '../../../src/runtime/errors.js';

export const ERR_CONTEXT_OVERFLOW = 'ERR_CONTEXT_OVERFLOW';
export const ERR_DECODER_FAILED = 'ERR_DECODER_FAILED';
export const ERR_ENCODER_FAILED = 'ERR_ENCODER_FAILED';
export const ERR_INVALID_PARAM = 'ERR_INVALID_PARAM';
export const ERR_BAD_PAYLOAD = 'ERR_BAD_PAYLOAD';

export function cancelled(): StageError {
  return new StageError(ERR_CANCELLED, 'request cancelled', 'cancelled');
}

export function invalidParam(param: string, message: string): StageError {
  return new StageError(ERR_INVALID_PARAM, message, 400, param);
}

/** A payload field the previous stage should have set: a wiring fault, not the client's. */
export function badPayload(stage: string, field: string, expected: string): StageError {
  return new StageError(ERR_BAD_PAYLOAD, `${stage}: payload field '${field}' must be ${expected}`, 500);
}

/** A failure inside a model runner, reported per item. */
export function runnerFailed(code: string, err: unknown): StageError {
  return new StageError(code, `${err instanceof Error ? err.message : String(err)}`, 500);
}
