// One transcription request on the decoder: every segment of the audio becomes
// its own sequence (at most `maxSegmentsInFlight` at once, so one long file
// cannot take every slot), deltas stream in segment order, and the parsed
// segment texts are joined into the final payload fields.
import { deflateSync } from 'node:zlib';
import { StageError, type ItemContext } from '../../../src/runtime/contracts.js';
// Segments are typed by what the HTTP layer reads (PAYLOADS.md), so the two cannot drift.
import type { TranscriptSegment } from '../../../src/server/transcription-result.js';
import type { AsrTextCodec } from '../text/index.js';
import type { BatchScheduler, SequenceHandle } from './batch-scheduler.js';
import { LanguageHeaderFilter, OrderedDeltas } from './delta-stream.js';
import { cancelled, ERR_CONTEXT_OVERFLOW } from './errors.js';
import type { SequenceOutput } from './sequence.js';

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
  if (ctx.cancelled) throw cancelled();
  // Built up front so a prompt that cannot fit fails before any decoding starts.
  const plans = job.segments.map((segment) => plan(scheduler.maxContext, codec, job, segment));
  const deltas = new OrderedDeltas(job.segments.length, (delta) => ctx.emit({ type: 'delta', delta }), codec.seam);
  const handles = new Set<SequenceHandle>();
  let stopped = false;
  const stopAll = () => {
    stopped = true;
    for (const handle of handles) handle.cancel();
  };
  ctx.onCancel(stopAll);

  const results: { segment: TranscriptSegment; language: string }[] = new Array(job.segments.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < plans.length) {
      if (stopped) throw cancelled();
      const index = next++;
      results[index] = await runSegment(index);
    }
  };
  const runSegment = async (index: number): Promise<{ segment: TranscriptSegment; language: string }> => {
    const { promptIds, maxNewTokens } = plans[index];
    const segment = job.segments[index];
    const detokenizer = job.stream ? codec.detokenizer() : undefined;
    const header = new LanguageHeaderFilter(job.language !== undefined);
    const handle = scheduler.submit({
      promptIds,
      audio: segment.audio,
      maxNewTokens,
      temperature: job.temperature,
      seed: (job.seed + index * 0x9e3779b9) >>> 0,
      logprobs: job.logprobs,
      onToken: detokenizer && ((id) => deltas.push(index, header.push(detokenizer.push(id)))),
      probe: job.language === undefined && codec.noSpeech ? { index: 1, tokenId: codec.noSpeech.tokenId } : undefined,
    });
    handles.add(handle);
    const out = await handle.result.finally(() => handles.delete(handle));
    if (detokenizer) deltas.push(index, header.push(detokenizer.flush()) + header.flush());
    deltas.finish(index);
    return segmentResult(index, segment, out, codec, job);
  };

  const lanes = Array.from({ length: Math.min(job.maxSegmentsInFlight, plans.length) }, lane);
  try {
    await Promise.all(lanes);
  } catch (err) {
    stopAll(); // one failed segment fails the request: the others stop too
    await Promise.allSettled(lanes);
    throw ctx.cancelled ? cancelled() : err;
  }
  return {
    text: codec.join(results.map((r) => r.segment.text)),
    language: job.language ?? codec.mergeLanguages(results.map((r) => r.language).filter((l) => l)),
    segments: results.map((r) => r.segment),
  };
}

function plan(maxContext: number, codec: AsrTextCodec, job: TranscriptionJob, segment: EncodedSegment): { promptIds: Int32Array; maxNewTokens: number } {
  const promptIds = codec.promptIds(job.context, segment.tokens, job.language);
  const room = maxContext - promptIds.length;
  if (room < 1) {
    throw new StageError(
      ERR_CONTEXT_OVERFLOW,
      `the prompt (${promptIds.length} tokens: ${segment.tokens} of audio plus the context) leaves no room in the decoder context of ${maxContext} tokens`,
      400,
      job.context ? 'prompt' : 'file',
    );
  }
  const wanted = job.maxNewTokens ?? Math.max(MIN_NEW_TOKENS, Math.ceil(NEW_TOKENS_PER_SECOND * (segment.end - segment.start)));
  return { promptIds, maxNewTokens: Math.min(wanted, room) };
}

function segmentResult(id: number, segment: EncodedSegment, out: SequenceOutput, codec: AsrTextCodec, job: TranscriptionJob) {
  const { text, language } = codec.parse(codec.decode(out.tokens), job.language);
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
