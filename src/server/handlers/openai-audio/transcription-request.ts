// The form fields of POST /v1/audio/transcriptions, checked and turned into
// the pipeline's entry payload (docs/PAYLOADS.md). Numbers and booleans are read
// by the one form parser (request-fields.ts readFormValue), as a stage's declared
// fields are. Fields neither OpenAI's nor declared by a stage are ignored, as
// OpenAI does; an empty field counts as not sent (curl -F language=), as a form
// field left empty does in FastAPI-style servers; ' 1' is a 400.
import { PARAM_LIMITS, type TranscriptionParams as ContractParams } from '../../../contracts/transcription.js';
import type { Payload } from '../../../runtime/contracts.js';
import { ApiError, ERR_UNSUPPORTED_FEATURE, invalidValue } from '../../errors.js';
import type { ModelCatalog } from '../../model-catalog.js';
import { isResponseFormat, RESPONSE_FORMATS, type ResponseFormat } from './response-formats.js';
import { readFormValue, shownValue, type FieldSchema } from '../../request-fields.js';
import type { UploadedFile } from '../../upload-form.js';

/** `params` of the entry payload: the transcription contract's fields, plus how this route formats the answer. */
export interface TranscriptionParams extends ContractParams {
  response_format: ResponseFormat;
  /** As sent, when the pipeline aligns words (a stage declares timestamp_granularities). */
  timestamp_granularities?: string[];
  /** OpenAI's include[]: ['logprobs'] asks for each transcript token's log-probability. */
  include?: string[];
}

export interface TranscriptionRequest {
  /** The model id the client named (or the canonical one). */
  model: string;
  params: TranscriptionParams;
}

/** The form fields this handler reads itself (OpenAI's transcription fields it acts on). */
export const OPENAI_FIELDS = ['file', 'model', 'response_format', 'stream', 'temperature', 'language', 'prompt', 'max_new_tokens', 'seed', 'timestamp_granularities', 'include'];

const STREAMABLE_FORMATS: ResponseFormat[] = ['json', 'text'];
const GRANULARITY_FIELDS = ['timestamp_granularities[]', 'timestamp_granularities'];

function single(fields: Map<string, string[]>, name: string): string | undefined {
  const values = (fields.get(name) ?? []).filter((value) => value !== '');
  if (values.length > 1) throw invalidValue(name, `'${name}' was sent ${values.length} times; send it once.`);
  return values[0];
}

/** The numbers and booleans among OpenAI's fields, with their ranges (src/contracts/transcription.ts). */
const FIELD_SCHEMAS: Record<'temperature' | 'max_new_tokens' | 'seed' | 'stream', FieldSchema> = {
  temperature: { type: 'number', minimum: PARAM_LIMITS.temperature.min, maximum: PARAM_LIMITS.temperature.max },
  max_new_tokens: { type: 'integer', minimum: PARAM_LIMITS.max_new_tokens.min },
  seed: { type: 'integer', minimum: PARAM_LIMITS.seed.min, maximum: PARAM_LIMITS.seed.max },
  stream: { type: 'boolean' },
};

/** A number or boolean field, converted and checked; undefined when not sent. */
function readField<T>(fields: Map<string, string[]>, name: keyof typeof FIELD_SCHEMAS): T | undefined {
  const values = (fields.get(name) ?? []).filter((value) => value !== '');
  return values.length ? (readFormValue(name, values, FIELD_SCHEMAS[name]) as T) : undefined;
}

function parseResponseFormat(raw: string | undefined): ResponseFormat {
  if (raw === undefined) return 'json';
  if (!isResponseFormat(raw)) throw invalidValue('response_format', `response_format must be one of ${RESPONSE_FORMATS.join(', ')} (got ${shownValue(`'${raw}'`)}).`);
  return raw;
}

const INCLUDE_FIELDS = ['include[]', 'include'];
/** OpenAI returns token log-probabilities only with json (and its stream). */
const LOGPROB_FORMATS: ResponseFormat[] = ['json'];

/** include[]: 'logprobs' is the one value OpenAI defines for transcriptions; `available`: a stage declares include. */
function readInclude(fields: Map<string, string[]>, format: ResponseFormat, available: boolean): string[] {
  const values = INCLUDE_FIELDS.flatMap((name) => fields.get(name) ?? []).filter((value) => value !== '');
  for (const value of values) {
    if (value !== 'logprobs') throw invalidValue('include', `include[] takes 'logprobs' only (got ${shownValue(`'${value}'`)}).`);
  }
  if (values.length && !available) {
    throw new ApiError(400, ERR_UNSUPPORTED_FEATURE, 'Token log-probabilities are not available from this pipeline: none of its stages declares include (pipelines/qwen3-asr.yaml does).', 'include');
  }
  if (values.length && !LOGPROB_FORMATS.includes(format)) {
    throw invalidValue('include', `include[]=logprobs works with response_format ${LOGPROB_FORMATS.join(', ')}, as OpenAI's does (got '${format}').`);
  }
  return values.length ? ['logprobs'] : [];
}

/** Formats that carry word times (verbose_json lists them; subtitle cues are timed by them). */
const WORD_FORMATS: ResponseFormat[] = ['verbose_json', 'srt', 'vtt'];

/**
 * Segment timestamps are always produced; word timestamps only where the pipeline aligns words
 * (`words`: a stage such as qwen3-forced-aligner/aligner declares timestamp_granularities), else a 400.
 */
function readGranularities(fields: Map<string, string[]>, words: boolean, format: ResponseFormat): string[] {
  const values = GRANULARITY_FIELDS.flatMap((name) => fields.get(name) ?? []).filter((value) => value !== '');
  for (const value of values) {
    if (value === 'word' && !words) {
      throw new ApiError(400, ERR_UNSUPPORTED_FEATURE, "Word timestamps are not supported by this server as started: it has no forced aligner (start it with --aligner-path, e.g. --aligner-path Qwen/Qwen3-ForcedAligner-0.6B); use timestamp_granularities[]=segment with response_format=verbose_json.", 'timestamp_granularities');
    }
    if (value === 'word' && !WORD_FORMATS.includes(format)) {
      throw invalidValue('timestamp_granularities', `word timestamps come with response_format ${WORD_FORMATS.join(', ')} (got '${format}').`);
    }
    if (value !== 'segment' && value !== 'word') throw invalidValue('timestamp_granularities', `timestamp_granularities[] must be 'segment' or 'word' (got ${shownValue(`'${value}'`)}).`);
  }
  return values;
}

/**
 * `opts.words`: the pipeline aligns words (a stage declares timestamp_granularities);
 * `opts.logprobs`: a stage gives token log-probabilities (declares include; default true).
 */
export function parseTranscriptionRequest(fields: Map<string, string[]>, catalog: ModelCatalog, opts: { words?: boolean; logprobs?: boolean } = {}): TranscriptionRequest {
  const model = catalog.resolve(single(fields, 'model'));
  const response_format = parseResponseFormat(single(fields, 'response_format'));
  const stream = readField<boolean>(fields, 'stream') ?? false;
  if (stream && !STREAMABLE_FORMATS.includes(response_format)) {
    throw invalidValue('stream', `stream=true works with response_format ${STREAMABLE_FORMATS.join(' or ')} (got '${response_format}').`);
  }
  const granularities = readGranularities(fields, opts.words ?? false, response_format);
  const include = readInclude(fields, response_format, opts.logprobs ?? true);

  // Log-probabilities cost the decoder a pass over the vocabulary per token: only formats that show them ask.
  const logprobs = response_format === 'verbose_json' || include.includes('logprobs');
  const params: TranscriptionParams = { temperature: readField<number>(fields, 'temperature') ?? 0, stream, response_format, logprobs };
  if (include.length) params.include = include;
  if (granularities.includes('word')) params.timestamp_granularities = granularities;
  const language = single(fields, 'language');
  if (language !== undefined) params.language = language;
  const prompt = single(fields, 'prompt');
  if (prompt !== undefined) params.prompt = prompt;
  const maxNewTokens = readField<number>(fields, 'max_new_tokens');
  if (maxNewTokens !== undefined) params.max_new_tokens = maxNewTokens;
  const seed = readField<number>(fields, 'seed');
  if (seed !== undefined) params.seed = seed;
  return { model, params };
}

/** The payload the pipeline's first stage receives; it owns the file bytes from here on. */
export function entryPayload(file: UploadedFile, params: object): Payload {
  return { audio: file.bytes, filename: file.filename, contentType: file.contentType, params };
}
