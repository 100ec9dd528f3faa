// One request on the shared decoder: its segments (audio windows, pages,
// turns…) each become a sequence on the BatchScheduler, at most `maxInFlight`
// at once so one long input cannot take every slot; text deltas stream in
// segment order; a failed segment or a cancelled request stops the others.
// Everything model-specific comes in through a SegmentModel: how a segment's
// prompt is built, how its tokens become streamed text, and how its output is
// parsed. Nothing here knows what a segment holds.
import type { ItemContext } from '../../../src/runtime/contracts.js';
import type { BatchScheduler, SequenceHandle } from './batch-scheduler.js';
import { cancelled } from './errors.js';
import { OrderedDeltas, type SeamFn } from './ordered-deltas.js';
import type { SequenceOutput, SequenceSpec } from './sequence.js';

/** A segment's sequence: prompt, embeddings, limits and sampling (the engine adds the streaming callback). */
export type SegmentSequence = Omit<SequenceSpec, 'onToken'>;

/** A piece of streamed text, with the log-probabilities of the tokens it shows when the request asked for them. */
export type StreamPiece = string | { text: string; logprobs?: unknown[] };

/** Streamed text of one segment: token ids (and their logprobs) in, text pieces out. */
export interface TextStream {
  push(id: number, logprob: number): StreamPiece;
  /** What is still held when the sequence ends. */
  flush(): StreamPiece;
}

/** What a model implements to run a request's segments on the shared engine. */
export interface SegmentModel<R> {
  /** Number of segments. */
  readonly count: number;
  /** Builds segment `index`'s sequence; all are built before decoding starts, so one that cannot fit fails first. */
  sequence(index: number, maxContext: number): SegmentSequence;
  /** Turns segment `index`'s tokens into streamed text; undefined when the request does not stream. */
  stream?(index: number): TextStream | undefined;
  /** What goes between the streamed text of one segment and the next. */
  seam: SeamFn;
  /** Parses a finished sequence into the segment's result. */
  result(index: number, out: SequenceOutput): R;
}

/** Decodes every segment; resolves with their results in order, or rejects with the first failure. */
export async function runSegments<R>(scheduler: BatchScheduler, model: SegmentModel<R>, maxInFlight: number, ctx: ItemContext): Promise<R[]> {
  if (ctx.cancelled) throw cancelled();
  const specs = Array.from({ length: model.count }, (_, i) => model.sequence(i, scheduler.maxContext));
  const deltas = new OrderedDeltas(model.count, (delta, logprobs) => ctx.emit({ type: 'delta', delta, ...(logprobs ? { logprobs } : {}) }), model.seam);
  const pushPiece = (index: number, piece: StreamPiece) => (typeof piece === 'string' ? deltas.push(index, piece) : deltas.push(index, piece.text, piece.logprobs));
  const handles = new Set<SequenceHandle>();
  let stopped = false;
  const stopAll = () => {
    stopped = true;
    for (const handle of handles) handle.cancel();
  };
  ctx.onCancel(stopAll);

  const results: R[] = new Array(model.count);
  let next = 0;
  const runSegment = async (index: number): Promise<R> => {
    const stream = model.stream?.(index);
    const handle = scheduler.submit({ ...specs[index], onToken: stream && ((id, logprob) => pushPiece(index, stream.push(id, logprob))) });
    handles.add(handle);
    const out = await handle.result.finally(() => handles.delete(handle));
    if (stream) pushPiece(index, stream.flush());
    deltas.finish(index);
    return model.result(index, out);
  };
  const lane = async (): Promise<void> => {
    while (next < specs.length) {
      if (stopped) throw cancelled();
      const index = next++;
      results[index] = await runSegment(index);
    }
  };

  const lanes = Array.from({ length: Math.min(maxInFlight, specs.length) }, lane);
  try {
    await Promise.all(lanes);
  } catch (err) {
    stopAll(); // one failed segment fails the request: the others stop too
    await Promise.allSettled(lanes);
    throw ctx.cancelled ? cancelled() : err;
  }
  return results;
}
