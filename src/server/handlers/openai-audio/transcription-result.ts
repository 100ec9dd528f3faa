// The final payload of a transcription pipeline (src/contracts/transcription.ts,
// docs/PAYLOADS.md), read defensively: the HTTP layer must not turn a malformed
// payload into a malformed response, so anything missing is an internal error.
import type { TokenLogprob, TranscriptionResult, TranscriptSegment, WordTimestamp } from '../../../contracts/transcription.js';
import type { Payload } from '../../../runtime/contracts.js';

export class MalformedResultError extends Error {
  override name = 'MalformedResultError';
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const numberOr = (value: unknown, fallback: number) => (isNumber(value) ? value : fallback);

/** include[]=logprobs entries; a malformed one is a server fault like any malformed field. */
export function readTokenLogprobs(raw: unknown, where: string): TokenLogprob[] {
  if (!Array.isArray(raw)) throw new MalformedResultError(`${where} logprobs is not a list`);
  return raw.map((e: Partial<TokenLogprob> | null, i) => {
    const ok = e && typeof e.token === 'string' && typeof e.logprob === 'number' && Array.isArray(e.bytes) && e.bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256);
    if (!ok) throw new MalformedResultError(`${where} logprobs[${i}] is not { token, logprob, bytes }`);
    return { token: e.token!, logprob: e.logprob!, bytes: e.bytes! };
  });
}

function readSegment(raw: unknown, index: number): TranscriptSegment {
  const s = (raw ?? {}) as Record<string, unknown>;
  if (!isNumber(s.start) || !isNumber(s.end) || typeof s.text !== 'string') {
    throw new MalformedResultError(`pipeline result segment ${index} lacks start/end/text`);
  }
  return {
    id: numberOr(s.id, index),
    start: s.start,
    end: s.end,
    text: s.text,
    tokens: Array.isArray(s.tokens) ? s.tokens.filter(isNumber) : [],
    temperature: numberOr(s.temperature, 0),
    avg_logprob: numberOr(s.avg_logprob, 0),
    compression_ratio: numberOr(s.compression_ratio, 0),
    no_speech_prob: numberOr(s.no_speech_prob, 0),
    ...(s.logprobs !== undefined ? { logprobs: readTokenLogprobs(s.logprobs, `pipeline result segment ${index}`) } : {}),
  };
}

function readWord(raw: unknown, index: number): WordTimestamp {
  const w = (raw ?? {}) as Record<string, unknown>;
  if (typeof w.word !== 'string' || !isNumber(w.start) || !isNumber(w.end)) throw new MalformedResultError(`pipeline result word ${index} lacks word/start/end`);
  return { word: w.word, start: w.start, end: w.end };
}

export function readTranscriptionResult(payload: Payload): TranscriptionResult {
  const { text, language, duration, segments, words } = payload;
  if (typeof text !== 'string') throw new MalformedResultError('pipeline result has no text');
  if (!isNumber(duration) || duration < 0) throw new MalformedResultError('pipeline result has no duration');
  return {
    text,
    language: typeof language === 'string' ? language : '',
    duration,
    segments: Array.isArray(segments) ? segments.map(readSegment) : [],
    ...(Array.isArray(words) ? { words: words.map(readWord) } : {}),
  };
}
