// A committed turn's final decode and its wire events: it forces the text the
// turn's partials already sent (partials.ts TurnText.final), streams the rest as
// deltas, and ends in a completed event whose transcript is exactly the deltas
// joined, or a failed event. Either waits until the turn committed before it has
// sent its own, so a session's turns complete in commit order whatever their
// decodes' order. A turn long enough to be cut into several segments cannot have
// its start forced (the decoder refuses answer_prefix then: one answer per
// segment); it is decoded whole, and what follows the text sent is appended.
// A turn can be withdrawn (its `withdrawn` signal, with a RealtimeError as reason):
// its decode is cancelled and it fails with that error, after any deltas it sent
// (a shed session's turns go with it, load.ts).
import type { FastifyBaseLogger } from 'fastify';
import type { Admission } from '../../../runtime/admission.js';
import type { Pipeline } from '../../../runtime/contracts.js';
import { toApiError } from '../../errors.js';
import { errorBody, newId, type RealtimeError } from './events.js';
import type { RealtimeMetrics } from './metrics.js';
import type { TurnText } from './partials.js';
import type { SessionConfig } from './session-config.js';
import { transcribeTurn } from './turn.js';

export interface FinalTurnDeps {
  pipeline: Pipeline;
  metrics: RealtimeMetrics;
  log: FastifyBaseLogger;
  send(event: object): void;
  /** Aborted when the session's socket closes. */
  session: AbortSignal;
  /** The route's final turns in the pipeline at once (limits.max_turns_running); a turn holds one while it decodes. */
  turnSlots: Admission;
}

export interface FinalTurn {
  item: string;
  samples: Float32Array;
  /** What the turn's partials fixed and sent. */
  text: TurnText;
  config: SessionConfig;
  /** Settles once the turn committed before this one has sent its completed or failed event. */
  before: Promise<void>;
  /** Aborted, with a RealtimeError as reason (turn-queue.ts withdrawAll), to withdraw the turn. */
  withdrawn: AbortSignal;
}

/** Transcribes the turn and sends its events; never rejects. */
export async function finishTurn(deps: FinalTurnDeps, turn: FinalTurn): Promise<void> {
  const { metrics, pipeline, log, send } = deps;
  const { item, text, config, before } = turn;
  const ended = performance.now();
  const since = () => (performance.now() - ended) / 1000;
  // A turn whose partials sent deltas had its first one before it ended.
  let sent = text.fixed;
  if (sent !== '') metrics.firstDeltaSeconds.observe(0);
  const delta = (piece: string) => {
    if (sent === '') metrics.firstDeltaSeconds.observe(since());
    sent += piece;
    send({ type: 'conversation.item.input_audio_transcription.delta', event_id: newId('event'), item_id: item, content_index: 0, delta: piece });
  };
  try {
    const { language, prompt } = config;
    const request = { id: item, samples: turn.samples, language, prompt, signal: AbortSignal.any([deps.session, turn.withdrawn]) };
    const release = await deps.turnSlots.acquire(request.signal);
    let result;
    try {
      result = await transcribeTurn(pipeline, { ...request, extra: text.final(language !== undefined), onDelta: delta });
      // Deltas are only ever appended: the completed text is what they spelled, plus any rest.
      if (result.text.startsWith(sent)) {
        if (result.text.length > sent.length) delta(result.text.slice(sent.length));
      } else {
        log.warn({ item, streamed: sent.length, final: result.text.length }, 'final transcript differs from its streamed deltas; keeping the deltas');
      }
    } catch (err) {
      if (sent === '' || toApiError(err, item).param !== 'answer_prefix') throw err;
      // Decoded whole and not streamed (it starts again from the turn's start): the rest after the text it shares with what was sent.
      result = await transcribeTurn(pipeline, request);
      const shared = commonPrefix(sent, result.text);
      if (shared < sent.length) log.warn({ item, sent: sent.length, shared }, 'a long turn decoded whole differs from the text sent during it; its rest follows the text they share');
      if (result.text.length > shared) delta(result.text.slice(shared));
    } finally {
      release();
    }
    await before;
    send({ type: 'conversation.item.input_audio_transcription.completed', event_id: newId('event'), item_id: item, content_index: 0, transcript: sent, usage: { type: 'duration', seconds: result.duration } });
    metrics.turns.inc({ outcome: 'completed' });
    metrics.turnSeconds.observe(since());
  } catch (err) {
    if (deps.session.aborted) return void metrics.turns.inc({ outcome: 'cancelled' });
    await before;
    metrics.turns.inc({ outcome: 'failed' });
    const error = turn.withdrawn.aborted ? errorBody(turn.withdrawn.reason as RealtimeError) : apiFailure(err, item, log);
    send({ type: 'conversation.item.input_audio_transcription.failed', event_id: newId('event'), item_id: item, content_index: 0, error });
  }
}

function apiFailure(err: unknown, item: string, log: FastifyBaseLogger): object {
  const apiError = toApiError(err, item);
  if (apiError.status >= 500) log.error({ err, item }, 'realtime turn failed');
  return { type: apiError.status >= 500 ? 'server_error' : 'invalid_request_error', code: apiError.code, message: apiError.message, param: apiError.param };
}

/** Length of the longest common prefix of `a` and `b`. */
function commonPrefix(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}
