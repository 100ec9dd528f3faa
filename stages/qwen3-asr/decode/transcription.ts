// One transcription request on the shared decoder engine: the Qwen3-ASR side
// of common/engine/segments.ts. Every audio segment becomes a sequence whose
// prompt this model builds; its streamed text loses the `language X<asr_text>`
// header (segment-stream.ts); its tokens are parsed into a transcript segment,
// without an echo of the prompt's term list (prompt-echo.ts), and the segment
// texts are joined into the final payload fields. A request's answer_prefix
// forces the start of its one segment's answer (forced-answer.ts).
import { deflateSync } from 'node:zlib';
import { StageError, type ItemContext } from '../../../src/runtime/contracts.js';
import type { TranscriptSegment } from '../../../src/contracts/transcription.js';
import type { BatchScheduler } from '../../common/engine/batch-scheduler.js';
import { ERR_CONTEXT_OVERFLOW } from '../../common/engine/errors.js';
import { runSegments, type SegmentModel, type SegmentSequence } from '../../common/engine/segments.js';
import type { SequenceOutput } from '../../common/engine/sequence.js';
import type { AsrTextCodec } from '../text/index.js';
import { forcedAnswer, primeStream, type ForcedAnswer } from './forced-answer.js';
import { dropEchoLogprobs, promptTerms, stripPromptEcho } from './prompt-echo.js';
import type { AnswerPrefixParam } from './request-params.js';
import { segmentStream } from './segment-stream.js';
import { segmentLogprobs } from './token-logprobs.js';

/** A segment after the encoder stage. */
export interface EncodedSegment {
  start: number;
  end: number;
  /** [tokens, hidden] audio embeddings. */
  audio: Float32Array;
  tokens: number;
}

export interface TranscriptionJob {
  segments: EncodedSegment[];
  /** Background text for the system turn (the request's `prompt`). */
  context: string;
  /** Canonical language name when forced. */
  language?: string;
  temperature: number;
  /** Explicit limit per segment (the request's max_new_tokens); default `budget`'s. */
  maxNewTokens?: number;
  /** The decoder's default limit per segment: max(min, perS x the segment's seconds). */
  budget: NewTokenBudget;
  seed: number;
  /** Emit text deltas while decoding. */
  stream: boolean;
  /** Compute token log-probabilities; without them the sampler gives NaN, and so does avg_logprob. */
  logprobs: boolean;
  /** include[]=logprobs: each transcript token's { token, logprob, bytes } in segments and deltas (needs logprobs). */
  tokenLogprobs?: boolean;
  /** CTRL-style penalty on tokens already generated; 1 or absent = off. */
  repetitionPenalty?: number;
  maxSegmentsInFlight: number;
  /** Text the answer is forced to start with (request answer_prefix); needs a single segment. */
  answerPrefix?: AnswerPrefixParam;
}

export interface Transcription {
  text: string;
  language: string;
  segments: TranscriptSegment[];
  /** With answer_prefix: the transcript text the forced part shows; `text` starts with it, deltas carry the rest. */
  forced_text?: string;
}

/** The decoder options new_tokens_per_s and min_new_tokens (decoder.plugin.yaml). */
export interface NewTokenBudget {
  perS: number;
  min: number;
}

export async function transcribe(scheduler: BatchScheduler, codec: AsrTextCodec, job: TranscriptionJob, ctx: ItemContext): Promise<Transcription> {
  const terms = promptTerms(job.context);
  const forced = job.answerPrefix && job.segments.length > 0
    ? forcedAnswer(codec, { context: job.context, language: job.language, audioTokens: job.segments[0].tokens, segmentCount: job.segments.length, prefix: job.answerPrefix })
    : undefined;
  const forcedOf = (index: number) => (index === 0 ? forced : undefined);
  const newStream = (tokenLogprobs: boolean, index: number) => {
    const stream = segmentStream(codec, { headerInPrompt: job.language !== undefined, terms, tokenLogprobs });
    const f = forcedOf(index);
    return { stream, forcedText: f ? primeStream(stream, f) : '' };
  };
  const model: SegmentModel<{ segment: TranscriptSegment; language: string }> = {
    count: job.segments.length,
    sequence: (index, maxContext) => sequence(maxContext, codec, job, index, forcedOf(index)),
    stream: (index) => (job.stream ? newStream(job.tokenLogprobs ?? false, index).stream : undefined),
    seam: codec.seam,
    result: (index, out) => segmentResult(index, job.segments[index], out, codec, job, terms, forcedOf(index)),
  };
  const results = await runSegments(scheduler, model, job.maxSegmentsInFlight, ctx);
  return {
    text: codec.join(results.map((r) => r.segment.text)),
    language: job.language ?? codec.mergeLanguages(results.map((r) => r.language).filter((l) => l)),
    segments: results.map((r) => r.segment),
    ...(forced ? { forced_text: newStream(false, 0).forcedText } : {}),
  };
}

function sequence(maxContext: number, codec: AsrTextCodec, job: TranscriptionJob, index: number, forced?: ForcedAnswer): SegmentSequence {
  const segment = job.segments[index];
  const promptIds = forced?.promptIds ?? codec.promptIds(job.context, segment.tokens, job.language);
  const room = maxContext - promptIds.length;
  if (room < 1) {
    throw new StageError(
      ERR_CONTEXT_OVERFLOW,
      `the prompt (${promptIds.length} tokens: ${segment.tokens} of audio plus the context) leaves no room in the decoder context of ${maxContext} tokens`,
      'invalid_input',
      job.context ? 'prompt' : 'file',
    );
  }
  const wanted = job.maxNewTokens ?? Math.max(job.budget.min, Math.ceil(job.budget.perS * (segment.end - segment.start)));
  return {
    promptIds,
    embeds: segment.audio,
    maxNewTokens: Math.min(wanted, room),
    temperature: job.temperature,
    seed: (job.seed + index * 0x9e3779b9) >>> 0,
    logprobs: job.logprobs,
    repetitionPenalty: job.repetitionPenalty,
    // A request that forces an answer start is a streaming re-decode: its next one will start the same.
    keepPrefix: job.answerPrefix !== undefined,
    // P("None") as the first word after "language " is the no-speech probability (unless the answer's start is forced).
    probe: job.language === undefined && !forced && codec.noSpeech ? { index: 1, tokenId: codec.noSpeech.tokenId } : undefined,
  };
}

function segmentResult(id: number, segment: EncodedSegment, out: SequenceOutput, codec: AsrTextCodec, job: TranscriptionJob, terms?: string[], forced?: ForcedAnswer) {
  // The answer is the forced ids and what followed; log-probabilities exist only for what the model generated.
  const tokens = forced ? [...forced.ids, ...out.tokens] : out.tokens;
  const headerInPrompt = job.language !== undefined || (forced?.headerForced ?? false);
  const parsed = codec.parse(codec.decode(tokens), job.language);
  const { text, removed } = stripPromptEcho(parsed.text, terms);
  const language = parsed.language;
  const result: TranscriptSegment = {
    id,
    start: segment.start,
    end: segment.end,
    text,
    tokens,
    temperature: job.temperature,
    avg_logprob: out.logprobs.length ? out.logprobs.reduce((s, x) => s + x, 0) / out.logprobs.length : 0,
    compression_ratio: compressionRatio(text),
    no_speech_prob: noSpeechProb(out, codec),
    ...(job.tokenLogprobs ? { logprobs: dropEchoLogprobs(segmentLogprobs(codec, out, headerInPrompt), parsed.text.slice(0, removed)) } : {}),
  };
  return { segment: result, language };
}

/** Whisper's measure of repetitiveness: UTF-8 bytes over zlib-compressed bytes. */
function compressionRatio(text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length === 0 ? 0 : bytes.length / deflateSync(bytes).length;
}

/** P("None") where the model names the language; 0 when the language was forced (the model never says). */
function noSpeechProb(out: SequenceOutput, codec: AsrTextCodec): number {
  if (!codec.noSpeech || out.probeLogprob === undefined || out.tokens[0] !== codec.noSpeech.afterId) return 0;
  return Math.exp(out.probeLogprob);
}
