// One realtime transcription session on one WebSocket: client events read in order
// (bad ones answered with error events, the session closed after too many in a
// row), settings from session.update, appends paced against real time, the idle
// and total time limits, and the session's end: a shutdown finishes its speech and
// open turns first, a shed withdraws them (each fails with the reason), a
// disconnect lets everything go at once. The audio and its turns are session-turns.ts; every audio
// call runs after the ones queued before it, so appends, commits and clears keep
// their order.
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { Admission } from '../../../runtime/admission.js';
import type { Pipeline } from '../../../runtime/contracts.js';
import type { ModelCatalog } from '../../model-catalog.js';
import { bytesPerSecond } from './audio-formats.js';
import type { AudioPool } from './audio-pool.js';
import { decodeAudio, errorEvent, eventIdOf, newId, readClientEvent, RealtimeError, type ClientEvent } from './events.js';
import { HeldFrames, MAX_HELD_BYTES } from './held-frames.js';
import type { LanguageCheck } from './language-check.js';
import { RateCredit, type RealtimeLimits } from './limits.js';
import type { RealtimeLoad } from './load.js';
import type { RealtimeMetrics } from './metrics.js';
import type { PartialGate } from './partials.js';
import { applyUpdate, defaultConfig, renderSession, type Generation, type SessionConfig } from './session-config.js';
import { SessionTurns } from './session-turns.js';

/** Server events a client has not read yet, past which it is dropped (it would hold memory without bound). */
const MAX_UNREAD_BYTES = 8 * 2 ** 20;

export const CLOSE = { normal: 1000, goingAway: 1001, policy: 1008, tryLater: 1013 } as const;

export interface SessionDeps {
  socket: WebSocket;
  pipeline: Pipeline;
  catalog: ModelCatalog;
  audio: AudioPool;
  metrics: RealtimeMetrics;
  limits: RealtimeLimits;
  /** Partials of all the route's sessions (partials.ts). */
  gate: PartialGate;
  /** The route's load: tracks committed turns until they answer. */
  load: Pick<RealtimeLoad, 'track'>;
  /** The route's final turns in the pipeline at once (limits.max_turns_running). */
  turnSlots: Admission;
  languages: LanguageCheck;
  log: FastifyBaseLogger;
  /** beta when the client connected with ?intent=transcription. */
  generation: Generation;
  model: string;
}

export class RealtimeSession {
  readonly id = newId('sess');
  private config: SessionConfig;
  private readonly expiresAt: number;
  private chain: Promise<void> = Promise.resolve();
  private readonly turns: SessionTurns;
  /** Frames that arrived while a session.update waited for its language check, read after it in order. */
  private readonly held = new HeldFrames();
  private readonly gone = new AbortController();
  private readonly rate: RateCredit;
  private badInRow = 0;
  private closing = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly lifeTimer: NodeJS.Timeout;

  constructor(private readonly deps: SessionDeps) {
    this.config = defaultConfig(deps.model);
    this.rate = new RateCredit(deps.limits.burst_s);
    const { pipeline, audio, metrics, limits, gate, load, turnSlots, generation, log } = deps;
    this.turns = new SessionTurns({
      id: this.id, owner: this, pipeline, audio, metrics, limits, gate, load, turnSlots, generation, log: log.child({ session: this.id }),
      config: () => this.config, send: (e) => this.send(e), session: this.gone.signal,
    });
    this.expiresAt = Math.floor(Date.now() / 1000) + deps.limits.max_session_s;
    this.lifeTimer = setTimeout(() => this.expire('session_expired', `The session reached its ${deps.limits.max_session_s} s limit.`), deps.limits.max_session_s * 1000);
    this.touch();
    deps.socket.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    deps.socket.once('close', () => this.dispose());
    const created = deps.generation === 'ga' ? 'session.created' : 'transcription_session.created';
    this.send({ type: created, event_id: newId('event'), session: this.render() });
  }

  /** Turns still being transcribed. */
  get openTurns(): number {
    return this.turns.open;
  }

  /** Stopped reading: closing, or closed. */
  get ending(): boolean {
    return this.closing;
  }

  /** Server shutdown: speech in progress becomes a last turn, open turns finish, then the socket closes (1001). */
  shutdown(): Promise<void> {
    return this.end(CLOSE.goingAway, 'server shutting down', true);
  }

  /**
   * The server is behind (load.ts): told why, the session stops reading; its speech in progress
   * is dropped and its open turns fail with the same error (decoding them would only keep the
   * backlog the older sessions wait behind), then it closes (1013); settles then.
   */
  shed(): Promise<void> {
    const overloaded = new RealtimeError('server_overloaded', 'The server cannot keep up with the sessions it has open; its open turns are withdrawn and it is closed. Retry later.', null, 'server_error');
    this.send(errorEvent(overloaded));
    return this.end(CLOSE.tryLater, 'server overloaded', true, () => this.turns.shed(overloaded));
  }

  private render(): object {
    return renderSession(this.id, this.expiresAt, this.config, this.deps.generation);
  }

  private send(event: object): void {
    const { socket } = this.deps;
    if (socket.readyState !== socket.OPEN) return;
    if (socket.bufferedAmount > MAX_UNREAD_BYTES) {
      this.deps.log.warn({ session: this.id }, 'realtime client does not read its events; dropping it');
      socket.terminate();
      return;
    }
    socket.send(JSON.stringify(event));
  }

  private fail(err: unknown, clientEventId: string | null): void {
    const error = err instanceof RealtimeError ? err : new RealtimeError('server_error', 'The server had an error handling this event.', null, 'server_error');
    if (!(err instanceof RealtimeError)) this.deps.log.error({ err, session: this.id }, 'realtime event failed');
    this.send(errorEvent(error, clientEventId));
  }

  private touch(): void {
    clearTimeout(this.idleTimer);
    const idle = this.deps.limits.idle_timeout_s;
    // A client waiting for its turns' transcripts is not idle: the clock restarts once they are done.
    this.idleTimer = setTimeout(() => (this.turns.open > 0 ? this.touch() : this.expire('idle_timeout', `Nothing was received for ${idle} s.`)), idle * 1000);
  }

  private expire(code: string, message: string): void {
    this.send(errorEvent(new RealtimeError(code, `${message} The session is closed.`)));
    void this.end(CLOSE.policy, code, true);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    this.touch();
    if (!this.held.holding) return this.read(data, isBinary);
    if (!this.held.add(data, isBinary)) {
      this.fail(new RealtimeError('session_busy', `More than ${MAX_HELD_BYTES} bytes of events arrived while the session's language was being checked; this event was dropped.`), null);
    }
  }

  private read(data: Buffer, isBinary: boolean): void {
    let event: ClientEvent;
    try {
      event = readClientEvent(data, isBinary, this.deps.limits.max_event_bytes);
      this.handle(event);
      this.badInRow = 0;
    } catch (err) {
      this.fail(err, eventIdOf(err));
      if (++this.badInRow >= this.deps.limits.max_bad_events) {
        this.send(errorEvent(new RealtimeError('too_many_errors', `${this.badInRow} bad events in a row; the session is closed.`)));
        void this.end(CLOSE.policy, 'too many bad events', false);
      }
    }
  }

  /** Acts on one event; throws RealtimeError for a problem found before it is queued. */
  private handle(event: ClientEvent): void {
    const id = event.event_id ?? null;
    const wrap = (err: unknown) => Object.assign(err as object, { eventId: id });
    try {
      switch (event.type) {
        case 'session.update':
          return this.update('ga', event.session, id);
        case 'transcription_session.update':
          return this.update('beta', event.session, id);
        case 'input_audio_buffer.append':
          return this.append(event.audio, id);
        case 'input_audio_buffer.commit':
          return this.enqueue(id, () => this.turns.commit());
        case 'input_audio_buffer.clear':
          return this.enqueue(id, async () => this.turns.clear());
      }
    } catch (err) {
      throw wrap(err);
    }
  }

  /** Runs `task` after every audio call queued before it; its errors become error events. */
  private enqueue(clientEventId: string | null, task: () => Promise<void>): void {
    this.chain = this.chain.then(task).catch((err) => {
      if (!this.gone.signal.aborted) this.fail(err, clientEventId);
    });
  }

  private update(generation: Generation, session: unknown, clientEventId: string | null): void {
    const next = applyUpdate(this.config, generation, session);
    const param = (field: string) => (generation === 'ga' ? `session.audio.input.transcription.${field}` : `session.input_audio_transcription.${field}`);
    if (next.model !== this.config.model) {
      try {
        next.model = this.deps.catalog.resolve(next.model);
      } catch (err) {
        throw new RealtimeError('model_not_found', (err as Error).message, param('model'));
      }
    }
    const language = next.language;
    if (language === undefined || language === this.config.language) return this.apply(generation, next, clientEventId);
    const refuse = (message: string) => new RealtimeError('invalid_value', `${param('language')}: ${message}`, param('language'));
    const known = this.deps.languages.cached(language);
    if (known) throw refuse(known.message);
    if (known === null) return this.apply(generation, next, clientEventId);
    // Unknown until the pipeline says: this update and every event after it wait for the answer, in order.
    this.held.hold();
    void this.deps.languages.check(language).catch(() => null).then((verdict) => {
      if (this.closing) return;
      if (verdict) this.fail(refuse(verdict.message), clientEventId);
      else this.apply(generation, next, clientEventId);
      this.held.release((data, isBinary) => this.read(data, isBinary), () => this.closing);
    });
  }

  /** Takes a checked update: the settings change now, audio after it is read at the new format. */
  private apply(generation: Generation, next: SessionConfig, clientEventId: string | null): void {
    const formatChanged = next.format !== this.config.format;
    const vadChanged = JSON.stringify(next.turnDetection) !== JSON.stringify(this.config.turnDetection);
    this.config = next;
    this.enqueue(clientEventId, async () => {
      if (formatChanged) await this.deps.audio.close(this.id); // the stream restarts at the new rate
      if (vadChanged) this.turns.detect(next.turnDetection);
      const updated = generation === 'ga' ? 'session.updated' : 'transcription_session.updated';
      this.send({ type: updated, event_id: newId('event'), session: this.render() });
    });
  }

  private append(audio: unknown, clientEventId: string | null): void {
    const format = this.config.format;
    const bytes = decodeAudio(audio, format === 'pcm16' ? 2 : 1);
    if (bytes.length === 0) return;
    this.rate.spend(bytes.length / bytesPerSecond(format));
    this.enqueue(clientEventId, () => this.turns.push(format, bytes, false));
  }

  /**
   * Stops reading; with `finish`, the speech in progress is committed and open turns complete
   * first (`before`: what the session lets go of once the events read before have been handled).
   */
  private async end(code: number, reason: string, finish: boolean, before?: () => void): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifeTimer);
    if (finish) {
      await this.chain;
      before?.();
      await this.turns.finish();
    }
    this.deps.socket.close(code, reason);
  }

  /** The socket closed: everything of the session is let go at once. */
  private dispose(): void {
    this.closing = true;
    this.gone.abort();
    clearTimeout(this.idleTimer);
    clearTimeout(this.lifeTimer);
    this.turns.dispose();
    void this.chain.finally(() => this.deps.audio.close(this.id)).catch(() => undefined);
  }
}
