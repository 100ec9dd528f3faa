// The request fields the decoder reads from payload.params (set by the HTTP
// router from the form), checked here so a bad value is a 400 naming its field
// even when the pipeline is driven without the router.
import { randomInt } from 'node:crypto';
import { invalidParam } from './errors.js';

export interface DecodeParams {
  /** Canonical language name when the client forced one. */
  language?: string;
  /** Background context for the system turn. */
  context: string;
  temperature: number;
  maxNewTokens?: number;
  seed: number;
  stream: boolean;
  /** Compute each sampled token's log-probability (segments' avg_logprob); default true. */
  logprobs: boolean;
}

const MAX_TEMPERATURE = 2;

/** `resolveLanguage` maps a code or name to the model's language name, throwing a 400 when unknown. */
export function readDecodeParams(raw: unknown, resolveLanguage: (value: string) => string): DecodeParams {
  const params = (raw ?? {}) as Record<string, unknown>;
  if (typeof params !== 'object' || Array.isArray(params)) throw invalidParam('params', 'params must be an object');
  const { language, prompt, temperature = 0, max_new_tokens: maxNewTokens, seed, stream = false, logprobs = true } = params;

  if (language !== undefined && language !== null && typeof language !== 'string') throw invalidParam('language', 'language must be a string');
  if (prompt !== undefined && prompt !== null && typeof prompt !== 'string') throw invalidParam('prompt', 'prompt must be a string');
  if (typeof temperature !== 'number' || !(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
    throw invalidParam('temperature', `temperature must be a number from 0 to ${MAX_TEMPERATURE}`);
  }
  if (maxNewTokens !== undefined && maxNewTokens !== null && !(Number.isInteger(maxNewTokens) && (maxNewTokens as number) >= 1)) {
    throw invalidParam('max_new_tokens', 'max_new_tokens must be a whole number ≥ 1');
  }
  if (seed !== undefined && seed !== null && !(Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) < 2 ** 32)) {
    throw invalidParam('seed', 'seed must be a whole number from 0 to 2^32 - 1');
  }
  if (typeof stream !== 'boolean') throw invalidParam('stream', 'stream must be a boolean');
  if (typeof logprobs !== 'boolean') throw invalidParam('logprobs', 'logprobs must be a boolean');

  return {
    language: language ? resolveLanguage(language) : undefined,
    context: prompt ?? '',
    temperature,
    maxNewTokens: (maxNewTokens as number | null | undefined) ?? undefined,
    seed: (seed as number | null | undefined) ?? randomInt(2 ** 32 - 1),
    stream,
    logprobs,
  };
}
