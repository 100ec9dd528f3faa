// One transcription request on the shared decoder engine: the Qwen3-ASR side
// of common/engine/segments.ts. Every audio segment becomes a sequence whose
// prompt this model builds; its streamed text loses the `language X<asr_text>`
// header (segment-stream.ts); its tokens are parsed into a transcript segment,
// without an echo of the prompt's term list (prompt-echo.ts), and the segment
// texts are joined into the final payload fields.
import { deflateSync } from 'node:zlib';
import { StageError, type ItemContext } from '../../../src/runtime/contracts.js';
import type { TranscriptSegment } from '../../../src/contracts/transcription.js';
import type { BatchScheduler } from '../../common/engine/batch-scheduler.js';
import { ERR_CONTEXT_OVERFLOW } from '../../common/engine/errors.js';
import { runSegments, type SegmentModel, type SegmentSequence } from '../../common/engine/segments.js';
import type { SequenceOutput } from '../../common/engine/sequence.js';
import type { AsrTextCodec } from '../text/index.js';
import { dropEchoLogprobs, promptTerms, stripPromptEcho } from './prompt-echo.js';
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
  /** Explicit limit per segment; default max(128, 10 per second of audio). */
  maxNewTokens?: number;
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
}

export interface Transcription {
  text: string;
  language: string;
  segments: TranscriptSegment[];
}

const MIN_NEW_TOKENS = 128;
const NEW_TOKENS_PER_SECOND = 10;

export async function transcribe(scheduler: BatchScheduler, codec: AsrTextCodec, job: TranscriptionJob, ctx: ItemContext): Promise<Transcription> {
  const terms = promptTerms(job.context);
  const model: SegmentModel<{ segment: TranscriptSegment; language: string }> = {
    count: job.segments.length,
    sequence: (index, maxContext) => sequence(maxContext, codec, job, index),
    stream: () => (job.stream ? segmentStream(codec, { headerInPrompt: job.language !== undefined, terms, tokenLogprobs: job.tokenLogprobs ?? false }) : undefined),
    seam: codec.seam,
    result: (index, out) => segmentResult(index, job.segments[index], out, codec, job, terms),
  };
  const results = await runSegments(scheduler, model, job.maxSegmentsInFlight, ctx);
  return {
    text: codec.join(results.map((r) => r.segment.text)),
    language: job.language ?? codec.mergeLanguages(results.map((r) => r.language).filter((l) => l)),
    segments: results.map((r) => r.segment),
  };
}

function sequence(maxContext: number, codec: AsrTextCodec, job: TranscriptionJob, index: number): SegmentSequence {
  const segment = job.segments[index];
  const promptIds = codec.promptIds(job.context, segment.tokens, job.language);
  const room = maxContext - promptIds.length;
  if (room < 1) {
    throw new StageError(
      ERR_CONTEXT_OVERFLOW,
      `the prompt (${promptIds.length} tokens: ${segment.tokens} of audio plus the context) leaves no room in the decoder context of ${maxContext} tokens`,
      'invalid_input',
      job.context ? 'prompt' : 'file',
    );
  }
  const wanted = job.maxNewTokens ?? Math.max(MIN_NEW_TOKENS, Math.ceil(NEW_TOKENS_PER_SECOND * (segment.end - segment.start)));
  return {
    promptIds,
    embeds: segment.audio,
    maxNewTokens: Math.min(wanted, room),
    temperature: job.temperature,
    seed: (job.seed + index * 0x9e3779b9) >>> 0,
    logprobs: job.logprobs,
    repetitionPenalty: job.repetitionPenalty,
    // P("None") as the first word after "language " is the no-speech probability.
    probe: job.language === undefined && codec.noSpeech ? { index: 1, tokenId: codec.noSpeech.tokenId } : undefined,
  };
}

function segmentResult(id: number, segment: EncodedSegment, out: SequenceOutput, codec: AsrTextCodec, job: TranscriptionJob, terms?: string[]) {
  const parsed = codec.parse(codec.decode(out.tokens), job.language);
  const { text, removed } = stripPromptEcho(parsed.text, terms);
  const language = parsed.language;
  const result: TranscriptSegment = {
    id,
    start: segment.start,
    end: segment.end,
    text,
    tokens: out.tokens,
    temperature: job.temperature,
    avg_logprob: out.logprobs.length ? out.logprobs.reduce((s, x) => s + x, 0) / out.logprobs.length : 0,
    compression_ratio: compressionRatio(text),
    no_speech_prob: noSpeechProb(out, codec),
    ...(job.tokenLogprobs ? { logprobs: dropEchoLogprobs(segmentLogprobs(codec, out, job.language !== undefined), parsed.text.slice(0, removed)) } : {}),
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
