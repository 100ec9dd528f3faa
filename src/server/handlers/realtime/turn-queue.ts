// A session's committed turns: each is announced (input_audio_buffer.committed and
// the conversation item of the client's generation, linked to the turn before),
// then decoded (final-turn.ts) while the session goes on; their completed or
// failed events leave in commit order, however their decodes overlap. Each is
// tracked by the route's load (load.ts) from its commit until it has answered.
// A shed session withdraws its open turns: their decodes are cancelled and they
// fail with the reason at once, so the backlog the server could not answer goes
// with the session.
import { SAMPLE_RATE } from './audio-formats.js';
import { newId, type RealtimeError } from './events.js';
import { finishTurn, type FinalTurnDeps } from './final-turn.js';
import type { RealtimeLoad } from './load.js';
import { TurnText } from './partials.js';
import type { Generation, SessionConfig } from './session-config.js';

export class TurnQueue {
  private previousItem: string | null = null;
  /** Open turns, each with what withdraws it. */
  private readonly running = new Map<Promise<void>, AbortController>();
  /** Settles once the last committed turn has sent its completed or failed event. */
  private last: Promise<void> = Promise.resolve();

  /** `owner`: the session, as the load knows it. */
  constructor(private readonly deps: FinalTurnDeps, private readonly generation: Generation, private readonly load: Pick<RealtimeLoad, 'track'>, private readonly owner: object) {}

  /** Turns still being transcribed. */
  get open(): number {
    return this.running.size;
  }

  /** Settles when every turn committed so far has completed or failed. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.running.keys()]);
  }

  /** Withdraws every open turn: each fails with `reason`. */
  withdrawAll(reason: RealtimeError): void {
    for (const controller of this.running.values()) controller.abort(reason);
  }

  /** Commits the turn; `text` is what its partials sent (none: nothing forced). */
  commit(item: string, samples: Float32Array, config: SessionConfig, text?: TurnText): void {
    const { send } = this.deps;
    const previous = this.previousItem;
    this.previousItem = item;
    send({ type: 'input_audio_buffer.committed', event_id: newId('event'), item_id: item, previous_item_id: previous });
    const message = { id: item, object: 'realtime.item', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_audio', transcript: null }] };
    send({ type: this.generation === 'ga' ? 'conversation.item.added' : 'conversation.item.created', event_id: newId('event'), previous_item_id: previous, item: message });
    const before = this.last;
    const answered = this.load.track(samples.length / SAMPLE_RATE, this.owner);
    const withdraw = new AbortController();
    const turn = finishTurn(this.deps, { item, samples, text: text ?? new TurnText(0), config, before, withdrawn: withdraw.signal }).finally(() => {
      answered(!withdraw.signal.aborted && !this.deps.session.aborted);
      this.running.delete(turn);
    });
    this.last = turn;
    this.running.set(turn, withdraw);
  }
}
