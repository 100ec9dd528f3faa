// The transcription payload contract, shared by whoever fills it and whoever
// reads it: the request fields a transcription pipeline's entry payload carries
// (`params`, with their one set of ranges) and the result fields its last stage
// sets (docs/PAYLOADS.md). The HTTP handler and the model stages both import
// this module, so neither imports the other and the two cannot drift.

/** Ranges of the numeric request fields. Temperature is OpenAI's 0..1 for transcriptions. */
export const PARAM_LIMITS = {
  temperature: { min: 0, max: 1 },
  max_new_tokens: { min: 1 },
  seed: { min: 0, max: 2 ** 32 - 1 },
  /** Above 0 (vLLM), at most 2 (sglang); 1 is off. */
  repetition_penalty: { exclusiveMin: 0, max: 2 },
} as const;

/** `params` of the entry payload. */
export interface TranscriptionParams {
  /** A language code or name the model knows; absent = detect. */
  language?: string;
  /** Background text for the system turn. */
  prompt?: string;
  temperature: number;
  max_new_tokens?: number;
  /** Sampling seed (an extension, as vLLM has): the same seed, audio and fields give the same text. */
  seed?: number;
  stream: boolean;
  /** Whether the answer reports token log-probabilities (verbose_json's avg_logprob): each costs
   *  the model stage a pass over the whole vocabulary, so formats that do not show them skip it. */
  logprobs: boolean;
  /** OpenAI's include[]: with 'logprobs', segments and stream deltas carry each transcript token's log-probability. */
  include?: string[];
  /** CTRL-style penalty on tokens already generated (as vLLM and sglang take it); 1 or absent = off. */
  repetition_penalty?: number;
}

/** One transcript token's log-probability, in OpenAI's shape (include[]=logprobs). */
export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's UTF-8 bytes (a token may hold part of a character). */
  bytes: number[];
}

/** One transcript segment, in OpenAI verbose_json's shape. */
export interface TranscriptSegment {
  id: number;
  start: number;
  end: number;
  text: string;
  tokens: number[];
  temperature: number;
  avg_logprob: number;
  compression_ratio: number;
  no_speech_prob: number;
  /** Each transcript token's log-probability, when the request had include[]=logprobs. */
  logprobs?: TokenLogprob[];
}

export interface TranscriptionResult {
  text: string;
  /** Detected language as the model names it ("English"), '' when none. */
  language: string;
  /** Seconds of audio. */
  duration: number;
  segments: TranscriptSegment[];
  /** Word timestamps, when the pipeline aligns words (qwen3-forced-aligner/aligner) and the request asked for them. */
  words?: WordTimestamp[];
}

/** One aligned word; seconds from the start of the audio. */
export interface WordTimestamp {
  word: string;
  start: number;
  end: number;
}

/** A request field with a wrong type or out of range; the reader maps it to its own error kind. */
export class ParamError extends Error {
  override name = 'ParamError';
  constructor(readonly param: string, message: string) {
    super(message);
  }
}

const given = (value: unknown) => value !== undefined && value !== null;

/**
 * Checks `params` as a stage receives it (the HTTP handler's output, or a caller driving the
 * pipeline directly); defaults temperature to 0, stream to false and logprobs to true.
 */
export function readTranscriptionParams(raw: unknown): TranscriptionParams {
  const params = (raw ?? {}) as Record<string, unknown>;
  if (typeof params !== 'object' || Array.isArray(params)) throw new ParamError('params', 'params must be an object');
  const { language, prompt, temperature = 0, max_new_tokens: maxNewTokens, seed, stream = false, logprobs = true, include, repetition_penalty: penalty } = params;
  const { temperature: t, seed: s, repetition_penalty: rp } = PARAM_LIMITS;

  if (given(language) && typeof language !== 'string') throw new ParamError('language', 'language must be a string');
  if (given(prompt) && typeof prompt !== 'string') throw new ParamError('prompt', 'prompt must be a string');
  if (typeof temperature !== 'number' || !(temperature >= t.min && temperature <= t.max)) {
    throw new ParamError('temperature', `temperature must be a number from ${t.min} to ${t.max}`);
  }
  if (given(maxNewTokens) && !(Number.isInteger(maxNewTokens) && (maxNewTokens as number) >= PARAM_LIMITS.max_new_tokens.min)) {
    throw new ParamError('max_new_tokens', `max_new_tokens must be a whole number ≥ ${PARAM_LIMITS.max_new_tokens.min}`);
  }
  if (given(seed) && !(Number.isInteger(seed) && (seed as number) >= s.min && (seed as number) <= s.max)) {
    throw new ParamError('seed', `seed must be a whole number from ${s.min} to 2^32 - 1`);
  }
  if (typeof stream !== 'boolean') throw new ParamError('stream', 'stream must be a boolean');
  if (typeof logprobs !== 'boolean') throw new ParamError('logprobs', 'logprobs must be a boolean');
  if (given(include) && !(Array.isArray(include) && include.every((v) => v === 'logprobs'))) throw new ParamError('include', "include must be a list of 'logprobs'");
  if (given(penalty) && !(typeof penalty === 'number' && penalty > rp.exclusiveMin && penalty <= rp.max)) {
    throw new ParamError('repetition_penalty', `repetition_penalty must be a number above ${rp.exclusiveMin} and at most ${rp.max} (1 = off)`);
  }

  const out: TranscriptionParams = { temperature, stream, logprobs };
  if (language) out.language = language as string;
  if (prompt) out.prompt = prompt as string;
  if (given(maxNewTokens)) out.max_new_tokens = maxNewTokens as number;
  if (given(seed)) out.seed = seed as number;
  if (Array.isArray(include) && include.length) out.include = ['logprobs'];
  if (given(penalty)) out.repetition_penalty = penalty as number;
  return out;
}
