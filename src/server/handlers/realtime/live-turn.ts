// The turn in progress of one session, decoded while it is spoken: after every
// partial_interval_s of new audio its samples so far go through the pipeline as a
// partial (partials.ts says what it forces and which of its text becomes a delta).
// At most one partial of a turn is in flight: audio arriving meanwhile waits for
// the next, which takes all of it (a slow server gives fewer partials, never a
// queue). A partial that the pipeline has no room for is skipped, and the interval
// backs off while partials are mostly cut short by their turn's end (PartialGate).
// The official streaming decodes its first unfixed_chunk_num chunks without
// forcing anything and shows their text; on OpenAI's wire unforced text is never
// sent, so only the last of them is run (its answer is the next one's base): the
// first partial comes after partial_unfixed_chunks intervals, the same deltas
// for fewer decodes.
// Once the turn is committed its partial is cancelled and no result of it is used.
// A turn dropped before its commit (input_audio_buffer.clear, a turn detection
// change) whose deltas were already sent ends in a failed event for its item, so a
// client never holds deltas of an item that neither completes nor fails.
import type { FastifyBaseLogger } from 'fastify';
import type { Pipeline } from '../../../runtime/contracts.js';
import { newId } from './events.js';
import type { RealtimeLimits } from './limits.js';
import type { RealtimeMetrics } from './metrics.js';
import { TurnText, type PartialEnd, type PartialGate } from './partials.js';
import type { SampleBuffer } from './sample-buffer.js';
import type { SessionConfig } from './session-config.js';
import { transcribeTurn } from './turn.js';
import { SAMPLE_RATE } from './audio-formats.js';

/** Tokens a partial may generate (the official streaming's max_new_tokens per chunk). */
const PARTIAL_MAX_NEW_TOKENS = 32;

export interface LiveTurnDeps {
  pipeline: Pipeline;
  gate: PartialGate;
  metrics: RealtimeMetrics;
  limits: RealtimeLimits;
  log: FastifyBaseLogger;
  /** Sends a server event on the session's socket. */
  send(event: object): void;
  /** Aborted when the session's socket closes. */
  session: AbortSignal;
}

export class LiveTurn {
  readonly text: TurnText;
  private running = false;
  private committed = false;
  private waitingForRoom = false;
  /** Buffer index up to which the last partial heard the turn (none yet: undefined). */
  private heardTo: number | undefined;
  /** When the audio the newest partial heard had arrived: its text is what the next one fixes. */
  private heardAt: number | undefined;
  private partials = 0;
  private readonly stop = new AbortController();

  constructor(readonly item: string, private readonly start: number, private readonly deps: LiveTurnDeps) {
    this.text = new TurnText(Math.round(deps.limits.partial_unfixed_tokens));
  }

  /** Called after audio was added to the turn: starts a partial when one is due and none runs. */
  tick(buffer: SampleBuffer, config: SessionConfig): void {
    const { partial_interval_s, partial_max_turn_s, partial_unfixed_chunks } = this.deps.limits;
    if (this.committed || this.running || !(partial_interval_s > 0)) return;
    // The first partial is due after max(1, unfixed_chunks) intervals, each later one after one (x the gate's back-off).
    const interval = partial_interval_s * this.deps.gate.backoff * SAMPLE_RATE;
    const due = this.heardTo === undefined ? this.start + Math.max(1, Math.round(partial_unfixed_chunks)) * interval : this.heardTo + interval;
    if (buffer.length > partial_max_turn_s * SAMPLE_RATE || buffer.end < due) return;
    if (!this.deps.gate.tryAcquire()) {
      if (!this.waitingForRoom) this.deps.metrics.partials.inc({ outcome: 'skipped' });
      this.waitingForRoom = true;
      return;
    }
    this.waitingForRoom = false;
    this.running = true;
    this.heardTo = buffer.end;
    const heardBefore = this.heardAt;
    this.heardAt = performance.now();
    void this.run(buffer.copy(), config, heardBefore).then((end) => {
      this.running = false;
      this.deps.gate.release(end);
    });
  }

  /** The turn is committed: its partial is cancelled; returns what its deltas fixed for the final decode. */
  commit(): TurnText {
    this.committed = true;
    this.stop.abort();
    return this.text;
  }

  /** The turn will never be committed: its partial stops; deltas already sent are voided by a failed event. */
  discard(why: string): void {
    this.commit();
    if (this.text.fixed === '') return;
    const error = { type: 'invalid_request_error', code: 'turn_discarded', message: `The turn was dropped before it was committed (${why}); the deltas sent for it are void.`, param: null };
    this.deps.send({ type: 'conversation.item.input_audio_transcription.failed', event_id: newId('event'), item_id: this.item, content_index: 0, error });
  }

  /** Runs one partial; never rejects; says how it ended (undefined: the session went away). */
  private async run(samples: Float32Array, config: SessionConfig, heardBefore: number | undefined): Promise<PartialEnd | undefined> {
    const { pipeline, metrics, log, send } = this.deps;
    const forcedLanguage = config.language !== undefined;
    const extra = { ...this.text.nextPartial(forcedLanguage), max_new_tokens: PARTIAL_MAX_NEW_TOKENS };
    try {
      const out = await transcribeTurn(pipeline, { id: `${this.item}-p${++this.partials}`, samples, language: config.language, prompt: config.prompt, extra, signal: AbortSignal.any([this.stop.signal, this.deps.session]) });
      if (this.committed) return this.cancelled();
      metrics.partials.inc({ outcome: 'completed' });
      const delta = this.text.accept(out, forcedLanguage);
      if (delta === '') return 'completed';
      // The text fixed now was decoded by the partial before this one, from the audio it heard.
      if (heardBefore !== undefined) metrics.partialDeltaSeconds.observe((performance.now() - heardBefore) / 1000);
      send({ type: 'conversation.item.input_audio_transcription.delta', event_id: newId('event'), item_id: this.item, content_index: 0, delta });
      return 'completed';
    } catch (err) {
      if (this.committed || this.deps.session.aborted) return this.cancelled();
      metrics.partials.inc({ outcome: 'failed' });
      // The turn's final decode reports a problem with the request itself; a partial only loses its deltas.
      log.warn({ err, item: this.item }, 'realtime partial failed');
      return 'failed';
    }
  }

  /** Cut short: by the turn's commit (it counts for the back-off), or by the session's end (it does not). */
  private cancelled(): PartialEnd | undefined {
    this.deps.metrics.partials.inc({ outcome: 'cancelled' });
    return this.deps.session.aborted ? undefined : 'cancelled';
  }
}
