// The form fields of POST /v1/audio/transcriptions, checked and turned into
// the pipeline's entry payload (docs/PAYLOADS.md). Fields neither OpenAI's nor
// declared by a stage (request-fields.ts) are ignored, as OpenAI does; an empty
// field counts as not sent (curl -F language=).
import { PARAM_LIMITS, type TranscriptionParams as ContractParams } from '../../../contracts/transcription.js';
import type { Payload } from '../../../runtime/contracts.js';
import { ApiError, ERR_UNSUPPORTED_FEATURE, invalidValue } from '../../errors.js';
import type { ModelCatalog } from '../../model-catalog.js';
import { isResponseFormat, RESPONSE_FORMATS, type ResponseFormat } from './response-formats.js';
import { DECIMAL, parseBooleanText } from '../../request-fields.js';
import type { UploadedFile } from '../../upload-form.js';

/** `params` of the entry payload: the transcription contract's fields, plus how this route formats the answer. */
export interface TranscriptionParams extends ContractParams {
  response_format: ResponseFormat;
  /** As sent, when the pipeline aligns words (a stage declares timestamp_granularities). */
  timestamp_granularities?: string[];
}

export interface TranscriptionRequest {
  /** The model id the client named (or the canonical one). */
  model: string;
  params: TranscriptionParams;
}

/** The form fields this handler reads itself (OpenAI's transcription fields it acts on). */
export const OPENAI_FIELDS = ['file', 'model', 'response_format', 'stream', 'temperature', 'language', 'prompt', 'max_new_tokens', 'seed', 'timestamp_granularities'];

const STREAMABLE_FORMATS: ResponseFormat[] = ['json', 'text'];
const GRANULARITY_FIELDS = ['timestamp_granularities[]', 'timestamp_granularities'];

function single(fields: Map<string, string[]>, name: string): string | undefined {
  const values = (fields.get(name) ?? []).filter((value) => value !== '');
  if (values.length > 1) throw invalidValue(name, `'${name}' was sent ${values.length} times; send it once.`);
  return values[0];
}

const WHOLE_NUMBER = /^\+?\d+$/;

function parseTemperature(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const value = Number(raw.trim());
  const { min, max } = PARAM_LIMITS.temperature;
  if (!DECIMAL.test(raw.trim()) || value < min || value > max) throw invalidValue('temperature', `temperature must be a decimal number from ${min} to ${max} (got '${raw}').`);
  return value;
}

function parseWholeNumber(name: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw.trim());
  if (!WHOLE_NUMBER.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
    throw invalidValue(name, `${name} must be a whole number ${range} (got '${raw}').`);
  }
  return value;
}

function parseBoolean(name: string, raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const value = parseBooleanText(raw);
  if (value === undefined) throw invalidValue(name, `${name} must be true or false (got '${raw}').`);
  return value;
}

function parseResponseFormat(raw: string | undefined): ResponseFormat {
  if (raw === undefined) return 'json';
  if (!isResponseFormat(raw)) throw invalidValue('response_format', `response_format must be one of ${RESPONSE_FORMATS.join(', ')} (got '${raw}').`);
  return raw;
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
      throw new ApiError(400, ERR_UNSUPPORTED_FEATURE, "Word timestamps are not supported by this server as started: it has no forced aligner (serve pipelines/qwen3-asr-aligned.yaml with --stages.align.options.model_path ALIGNER_DIR); use timestamp_granularities[]=segment with response_format=verbose_json.", 'timestamp_granularities');
    }
    if (value === 'word' && !WORD_FORMATS.includes(format)) {
      throw invalidValue('timestamp_granularities', `word timestamps come with response_format ${WORD_FORMATS.join(', ')} (got '${format}').`);
    }
    if (value !== 'segment' && value !== 'word') throw invalidValue('timestamp_granularities', `timestamp_granularities[] must be 'segment' or 'word' (got '${value}').`);
  }
  return values;
}

/** `opts.words`: the pipeline aligns words (a stage declares timestamp_granularities). */
export function parseTranscriptionRequest(fields: Map<string, string[]>, catalog: ModelCatalog, opts: { words?: boolean } = {}): TranscriptionRequest {
  const model = catalog.resolve(single(fields, 'model'));
  const response_format = parseResponseFormat(single(fields, 'response_format'));
  const stream = parseBoolean('stream', single(fields, 'stream'));
  if (stream && !STREAMABLE_FORMATS.includes(response_format)) {
    throw invalidValue('stream', `stream=true works with response_format ${STREAMABLE_FORMATS.join(' or ')} (got '${response_format}').`);
  }
  const granularities = readGranularities(fields, opts.words ?? false, response_format);

  const params: TranscriptionParams = { temperature: parseTemperature(single(fields, 'temperature')), stream, response_format, logprobs: response_format === 'verbose_json' };
  if (granularities.includes('word')) params.timestamp_granularities = granularities;
  const language = single(fields, 'language');
  if (language !== undefined) params.language = language;
  const prompt = single(fields, 'prompt');
  if (prompt !== undefined) params.prompt = prompt;
  const maxNewTokens = parseWholeNumber('max_new_tokens', single(fields, 'max_new_tokens'), PARAM_LIMITS.max_new_tokens.min);
  if (maxNewTokens !== undefined) params.max_new_tokens = maxNewTokens;
  const seed = parseWholeNumber('seed', single(fields, 'seed'), PARAM_LIMITS.seed.min, PARAM_LIMITS.seed.max);
  if (seed !== undefined) params.seed = seed;
  return { model, params };
}

/** The payload the pipeline's first stage receives; it owns the file bytes from here on. */
export function entryPayload(file: UploadedFile, params: object): Payload {
  return { audio: file.bytes, filename: file.filename, contentType: file.contentType, params };
}
