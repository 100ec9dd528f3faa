// The request fields the decoder reads from payload.params, checked by the
// transcription contract's one reader (src/contracts/transcription.ts) so a bad
// value is a 400 naming its field even when the pipeline is driven without the
// HTTP handler; then put in the decoder's terms (canonical language, a seed).
import { randomInt } from 'node:crypto';
import { ParamError, readTranscriptionParams } from '../../../src/contracts/transcription.js';
import { invalidParam } from '../../common/engine/errors.js';

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
  /** include[]=logprobs: each transcript token's { token, logprob, bytes } in segments and deltas. */
  tokenLogprobs: boolean;
  /** CTRL-style penalty on already generated tokens; 1 = off. */
  repetitionPenalty: number;
}

/** `resolveLanguage` maps a code or name to the model's language name, throwing a 400 when unknown. */
export function readDecodeParams(raw: unknown, resolveLanguage: (value: string) => string): DecodeParams {
  let params;
  try {
    params = readTranscriptionParams(raw);
  } catch (err) {
    throw err instanceof ParamError ? invalidParam(err.param, err.message) : err;
  }
  const tokenLogprobs = params.include?.includes('logprobs') ?? false;
  return {
    language: params.language ? resolveLanguage(params.language) : undefined,
    context: params.prompt ?? '',
    temperature: params.temperature,
    maxNewTokens: params.max_new_tokens,
    seed: params.seed ?? randomInt(2 ** 32 - 1),
    stream: params.stream,
    // Token log-probabilities need the sampler's logprob pass even where avg_logprob is not shown.
    logprobs: params.logprobs || tokenLogprobs,
    tokenLogprobs,
    repetitionPenalty: params.repetition_penalty ?? 1,
  };
}
