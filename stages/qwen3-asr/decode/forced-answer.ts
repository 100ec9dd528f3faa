// A request's forced answer start (answer_prefix) for the one segment it
// applies to: the prompt with the prefix text tokenized in (text/answer-prefix.ts),
// which of its ids are the forced part, and the transcript text that part shows.
// The forced text is defined as what the segment's text stream yields for the
// forced ids (header held back, leading space trimmed): the result's text starts
// with it and streamed deltas carry only what follows, so forced text + deltas
// = text.
import { StageError } from '../../../src/runtime/contracts.js';
import { ERR_DECODER_FAILED, invalidParam } from '../../common/engine/errors.js';
import type { TextStream } from '../../common/engine/segments.js';
import type { AsrTextCodec } from '../text/index.js';
import type { AnswerPrefixParam } from './request-params.js';

export interface ForcedAnswer {
  /** The segment's prompt, forced ids at its end. */
  promptIds: Int32Array;
  /** The ids after the rendered prompt that the prefix put there. */
  ids: number[];
  /** True when the forced ids already hold <asr_text> (the model's header was forced too). */
  headerForced: boolean;
}

export interface ForcedAnswerInput {
  context: string;
  language?: string;
  audioTokens: number;
  segmentCount: number;
  prefix: AnswerPrefixParam;
}

export function forcedAnswer(codec: AsrTextCodec, input: ForcedAnswerInput): ForcedAnswer {
  if (!codec.answerPrefix) throw new StageError(ERR_DECODER_FAILED, 'this model text codec cannot force an answer prefix', 'internal');
  // The prefix stands for the whole answer; audio cut into several segments has several answers.
  if (input.segmentCount > 1) {
    throw invalidParam('answer_prefix', `answer_prefix needs audio that is decoded as one segment; this audio was cut into ${input.segmentCount} (the features stage's max_segment_s, or chunking_strategy)`);
  }
  const text = codec.answerPrefix(input.prefix.text, input.prefix.unfixedTokens);
  const base = codec.promptIds(input.context, input.audioTokens, input.language);
  const promptIds = codec.promptIds(input.context, input.audioTokens, input.language, text);
  // Tokenized as one string (as the official prompt_raw + prefix): the rendered prompt ends in "\n" or
  // <asr_text>, so its ids are a prefix of the whole; where a merge crossed the seam, the merged tail counts as forced.
  let same = 0;
  while (same < base.length && base[same] === promptIds[same]) same++;
  const ids = Array.from(promptIds.subarray(same));
  return { promptIds, ids, headerForced: codec.textTagId !== undefined && ids.includes(codec.textTagId) };
}

/** Feeds the forced ids through a fresh text stream; returns the text they show (what deltas must not repeat). */
export function primeStream(stream: TextStream, forced: ForcedAnswer): string {
  let text = '';
  for (const id of forced.ids) {
    const piece = stream.push(id, Number.NaN);
    text += typeof piece === 'string' ? piece : piece.text;
  }
  return text;
}
