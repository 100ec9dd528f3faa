// The request fields the decoder reads from payload.params, checked by the
// transcription contract's one reader (src/contracts/transcription.ts) so a bad
// value is a 400 naming its field even when the pipeline is driven without the
// HTTP handler; then put in the decoder's terms (canonical language, a seed).
// answer_prefix and its unfixed-token count are this model's own fields, read here.
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
  /** answer_prefix / answer_prefix_unfixed_tokens, when a prefix was sent (decode/answer-prefix.ts). */
  answerPrefix?: AnswerPrefixParam;
}

export interface AnswerPrefixParam {
  text: string;
  /** Tokens dropped from the end of `text` before it is forced. */
  unfixedTokens: number;
}

/** Bounds of answer_prefix (the descriptor declares the same): 8192 characters is ~2,000 tokens of
 *  English, past the default 1024-token context, so a longer prefix could never fit anyway. */
export const ANSWER_PREFIX_LIMITS = { maxChars: 8192, maxUnfixedTokens: 1024 } as const;

/** `resolveLanguage` maps a code or name to the model's language name, throwing a 400 when unknown. */
export function readDecodeParams(raw: unknown, resolveLanguage: (value: string) => string): DecodeParams {
  let params;
  try {
    params = readTranscriptionParams(raw);
  } catch (err) {
    throw err instanceof ParamError ? invalidParam(err.param, err.message) : err;
  }
  const tokenLogprobs = params.include?.includes('logprobs') ?? false;
  const answerPrefix = readAnswerPrefix(raw as Record<string, unknown> | undefined);
  return {
    ...(answerPrefix ? { answerPrefix } : {}),
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

/** answer_prefix (a string of at most maxChars) and answer_prefix_unfixed_tokens (a whole number, default 0). */
function readAnswerPrefix(params: Record<string, unknown> | undefined): AnswerPrefixParam | undefined {
  const { answer_prefix: text, answer_prefix_unfixed_tokens: unfixed } = params ?? {};
  const { maxChars, maxUnfixedTokens } = ANSWER_PREFIX_LIMITS;
  if (unfixed !== undefined && unfixed !== null && !(Number.isInteger(unfixed) && (unfixed as number) >= 0 && (unfixed as number) <= maxUnfixedTokens)) {
    throw invalidParam('answer_prefix_unfixed_tokens', `answer_prefix_unfixed_tokens must be a whole number from 0 to ${maxUnfixedTokens}`);
  }
  if (text === undefined || text === null || text === '') return undefined;
  if (typeof text !== 'string') throw invalidParam('answer_prefix', 'answer_prefix must be a string');
  if (text.length > maxChars) throw invalidParam('answer_prefix', `answer_prefix must be at most ${maxChars} characters (got ${text.length})`);
  return { text, unfixedTokens: (unfixed as number | undefined) ?? 0 };
}
