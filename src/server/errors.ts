// The error catalogue of the HTTP layer, in the manner of fastify's lib/errors.js:
// every code the server answers with its HTTP status, OpenAI error type and
// message template (each %s filled in order), and the status of each error kind the
// runtime and stages raise (docs/ERRORS.md is generated from this module and the
// runtime's codes, src/runtime/errors.ts). Answers have OpenAI's shape
// {"error":{"message","type","param","code"}}; codes on the wire are lower snake
// case like OpenAI's ("model_not_found"); the runtime's and stages' ERR_* codes
// are shown the same way ("ERR_QUEUE_FULL" → "queue_full").
import { PipelineError, type ErrorKind } from '../runtime/contracts.js';

export interface ErrorSpec {
  status: number;
  /** OpenAI's error `type`. */
  type: string;
  /** Template whose %s are filled in order; '%s' alone where the message is the caller's. */
  message: string;
}

export function errorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** "ERR_AUDIO_DECODE" → "audio_decode"; codes already in wire form pass unchanged. */
export function wireCode(code: string): string {
  return code.replace(/^ERR_/, '').toLowerCase();
}

/** nginx's status for "the client went away"; nobody reads the answer. */
export const STATUS_CLIENT_CLOSED = 499;

const spec = (status: number, message = '%s'): ErrorSpec => ({ status, type: errorType(status), message });

/** Every code the server itself answers with. */
export const ERRORS = {
  invalid_value: spec(400),
  missing_file: spec(400, "The audio file is required as the multipart file field 'file'%s."),
  missing_text: spec(400, "'text' is required: the transcript to align with the audio."),
  too_many_files: spec(400, 'Send exactly one audio file per request.'),
  invalid_multipart: spec(400),
  bad_http_request: spec(400, 'Malformed HTTP request.'),
  unsupported_feature: spec(400),
  invalid_api_key: spec(401),
  not_found: spec(404, 'No route for %s %s'),
  model_not_found: spec(404, "The model '%s' does not exist. Served models: %s."),
  request_timeout: spec(408, 'The request was not received in time (slow upload?).'),
  file_too_large: spec(413, 'The audio file is larger than the %s MiB limit.'),
  field_too_large: spec(413, "Form field '%s' is longer than %s bytes."),
  form_too_large: spec(413),
  unsupported_media_type: spec(415),
  headers_too_large: spec(431, 'The request headers are too large.'),
  client_closed_request: spec(STATUS_CLIENT_CLOSED, 'client closed the request%s'),
  internal_error: spec(500, 'The server had an error while processing your request (request id %s).'),
  /** The runtime's ERR_SHUTTING_DOWN on the wire, when the server itself refuses a request during close. */
  shutting_down: spec(503, 'The server is shutting down; retry on another instance.'),
} satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/** The answer to each kind of error a stage or the runtime raises (StageError, PipelineError). */
export const KIND_STATUS: Record<ErrorKind, number> = {
  invalid_input: 400,
  unsupported_media: 415,
  too_long: 400,
  cancelled: STATUS_CLIENT_CLOSED,
  overloaded: 503,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

/** Named for the route modules that build this error themselves. */
export const ERR_UNSUPPORTED_FEATURE: ErrorCode = 'unsupported_feature';

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

/** `template` with each %s replaced by the next of `args` (none left: empty). */
function fill(template: string, args: unknown[]): string {
  let next = 0;
  return template.replace(/%s/g, () => String(args[next++] ?? ''));
}

/** An error of the catalogue: its status, its template filled with `args`. */
export function apiError(code: ErrorCode, args: unknown[] = [], opts: { param?: string; retryAfterS?: number } = {}): ApiError {
  const { status, message } = ERRORS[code];
  return new ApiError(status, code, fill(message, args), opts.param ?? null, opts.retryAfterS);
}

export const invalidValue = (param: string, message: string) => apiError('invalid_value', [message], { param });

export function errorBody(err: ApiError): OpenAIErrorBody {
  return { error: { message: err.message, type: errorType(err.status), param: err.param, code: err.code } };
}

// Absolute paths in a message reveal the server's layout (a failed model load names its files).
const ABSOLUTE_PATH = /(?:[A-Za-z]:)?(?:[\\/][\w.@+~-]+){2,}[\\/]?/g;

export function redactPaths(message: string): string {
  return message.replace(ABSOLUTE_PATH, '<path>');
}

/** Fastify and @fastify/multipart errors that mean the client sent too much. */
const TOO_LARGE_CODES: Record<string, ErrorCode> = {
  FST_REQ_FILE_TOO_LARGE: 'file_too_large',
  FST_ERR_CTP_BODY_TOO_LARGE: 'form_too_large',
  FST_PARTS_LIMIT: 'form_too_large',
  FST_FIELDS_LIMIT: 'form_too_large',
  FST_FILES_LIMIT: 'too_many_files',
};

/**
 * Any thrown value as an ApiError safe to show a client. 500s get a fixed
 * message (the details go to the log only); other statuses keep their message
 * with absolute paths removed.
 */
export function toApiError(err: unknown, requestId: string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PipelineError) {
    const status = KIND_STATUS[err.kind];
    if (status === 500) return internalError(requestId, wireCode(err.code));
    return new ApiError(status, wireCode(err.code), redactPaths(err.message), err.param ?? null, err.retryAfterS);
  }
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code === 'FST_REQ_PREMATURE_CLOSE') return apiError('client_closed_request', ['']);
  if (code in TOO_LARGE_CODES) {
    const known = TOO_LARGE_CODES[code];
    return new ApiError(ERRORS[known].status, known, redactPaths(String(e?.message)));
  }
  if (status === 415) return apiError('unsupported_media_type', [redactPaths(String(e?.message))]);
  if (status >= 400 && status < 500) return new ApiError(status, code ? wireCode(code.replace(/^FST_(ERR_)?/, '')) : 'invalid_value', redactPaths(String(e?.message)));
  return internalError(requestId, 'internal_error');
}

/** internal_error's status and message, under the failing code (a stage's ERR_* shows which part failed). */
function internalError(requestId: string, code: string): ApiError {
  const { status, message } = ERRORS.internal_error;
  return new ApiError(status, code, fill(message, [requestId]));
}
