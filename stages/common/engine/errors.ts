// Error codes of model stages built on the shared engine. Each raises a kind
// (StageError); the server picks the status (src/server/errors.ts). A payload
// field the stage before should have set is the runtime's one badPayload.
import { StageError } from '../../../src/runtime/contracts.js';
import { ERR_CANCELLED } from '../../../src/runtime/errors.js';

export { badPayload } from '../../../src/runtime/errors.js';

export const ERR_CONTEXT_OVERFLOW = 'ERR_CONTEXT_OVERFLOW';
export const ERR_DECODER_FAILED = 'ERR_DECODER_FAILED';
export const ERR_ENCODER_FAILED = 'ERR_ENCODER_FAILED';
export const ERR_INVALID_PARAM = 'ERR_INVALID_PARAM';

export function cancelled(): StageError {
  return new StageError(ERR_CANCELLED, 'request cancelled', 'cancelled');
}

export function invalidParam(param: string, message: string): StageError {
  return new StageError(ERR_INVALID_PARAM, message, 'invalid_input', param);
}

/** A failure inside a model runner, reported per item. */
export function runnerFailed(code: string, err: unknown): StageError {
  return new StageError(code, `${err instanceof Error ? err.message : String(err)}`, 'internal');
}
