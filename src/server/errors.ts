// Every failure the HTTP layer answers with, in OpenAI's error shape:
// {"error":{"message","type","param","code"}}. Codes on the wire are lower
// snake case like OpenAI's ("model_not_found"); the runtime's ERR_* codes are
// shown the same way ("ERR_QUEUE_FULL" → "queue_full").
import { PipelineError } from '../runtime/contracts.js';

export const ERR_INVALID_VALUE = 'invalid_value';
export const ERR_MISSING_FILE = 'missing_file';
export const ERR_TOO_MANY_FILES = 'too_many_files';
export const ERR_INVALID_MULTIPART = 'invalid_multipart';
export const ERR_FILE_TOO_LARGE = 'file_too_large';
export const ERR_FIELD_TOO_LARGE = 'field_too_large';
export const ERR_FORM_TOO_LARGE = 'form_too_large';
export const ERR_UNSUPPORTED_MEDIA_TYPE = 'unsupported_media_type';
export const ERR_UNSUPPORTED_FEATURE = 'unsupported_feature';
export const ERR_MODEL_NOT_FOUND = 'model_not_found';
export const ERR_NOT_FOUND = 'not_found';
export const ERR_INVALID_API_KEY = 'invalid_api_key';
export const ERR_REQUEST_TIMEOUT = 'request_timeout';
export const ERR_HEADERS_TOO_LARGE = 'headers_too_large';
export const ERR_BAD_HTTP = 'bad_http_request';
export const ERR_CLIENT_CLOSED = 'client_closed_request';
export const ERR_SHUTTING_DOWN = 'shutting_down';
export const ERR_INTERNAL = 'internal_error';

/** nginx's status for "the client went away"; nobody reads the answer. */
export const STATUS_CLIENT_CLOSED = 499;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export const invalidValue = (param: string, message: string) => new ApiError(400, ERR_INVALID_VALUE, message, param);

export function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function errorBody(err: ApiError): OpenAIErrorBody {
  return { error: { message: err.message, type: errorType(err.status), param: err.param, code: err.code } };
}

/** "ERR_AUDIO_DECODE" → "audio_decode"; codes already in wire form pass unchanged. */
export function wireCode(code: string): string {
  return code.replace(/^ERR_/, '').toLowerCase();
}

// Absolute paths in a message reveal the server's layout (a failed model load names its files).
const ABSOLUTE_PATH = /(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}[\\/]?/g;

export function redactPaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, '<path>');
}

/** Fastify and @fastify/multipart errors that mean the client sent too much. */
const TOO_LARGE_CODES: Record<string, string> = {
  FST_REQ_FILE_TOO_LARGE: ERR_FILE_TOO_LARGE,
  FST_ERR_CTP_BODY_TOO_LARGE: ERR_FORM_TOO_LARGE,
  FST_PARTS_LIMIT: ERR_FORM_TOO_LARGE,
  FST_FIELDS_LIMIT: ERR_FORM_TOO_LARGE,
  FST_FILES_LIMIT: ERR_TOO_MANY_FILES,
};

/**
 * Any thrown value as an ApiError safe to show a client. 500s get a fixed
 * message (the details go to the log only); other statuses keep their message
 * with absolute paths removed.
 */
export function toApiError(err: unknown, requestId: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PipelineError) {
    if (err.status === 500) return internalError(requestId, wireCode(err.code));
    return new ApiError(err.status, wireCode(err.code), redactPaths(err.message), err.param ?? null, err.retryAfterS);
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'FST_REQ_PREMATURE_CLOSE') return new ApiError(STATUS_CLIENT_CLOSED, ERR_CLIENT_CLOSED, 'client closed the request');
  if (code in TOO_LARGE_CODES) return new ApiError(413, TOO_LARGE_CODES[code], redactPaths(String(e?.message)));
  if (status === 415) return new ApiError(415, ERR_UNSUPPORTED_MEDIA_TYPE, redactPaths(String(e?.message)));
  if (status >= 400 && status < 500) return new ApiError(status, code ? wireCode(code.replace(/^FST_(ERR_)?/, '')) : ERR_INVALID_VALUE, redactPaths(String(e?.message)));
  return internalError(requestId, ERR_INTERNAL);
}

function internalError(requestId: string, code: string): ApiError {
  return new ApiError(500, code, `The server had an error while processing your request (request id ${requestId}).`);
}
