// The audio side of one realtime session: samples from the audio thread into the
// session's buffer, turns found in it by the VAD (server_vad) or committed by the
// client, the turn in progress decoded while it is spoken (live-turn.ts), and the
// committed turns transcribed in commit order (turn-queue.ts). The buffer holds
// the audio of the turn in progress (with server_vad, only the prefix padding
// while nobody speaks); its bounds are limits.ts. Calls come one at a time, in
// the order of the client's events (session.ts chains them).
import { type AudioFormat, SAMPLE_RATE, samplesIn } from './audio-formats.js';
import type { Admission } from '../../../runtime/admission.js';
import type { AudioPool } from './audio-pool.js';
import { newId, RealtimeError } from './events.js';
import { LiveTurn, type LiveTurnDeps } from './live-turn.js';
import type { RealtimeLoad } from './load.js';
import type { TurnText } from './partials.js';
import { SampleBuffer } from './sample-buffer.js';
import type { Generation, SessionConfig } from './session-config.js';
import { TAIL_PADDING_MS, TurnDetector } from './turn-detector.js';
import { TurnQueue } from './turn-queue.js';

/** OpenAI refuses commits of less audio than this. */
const MIN_COMMIT_MS = 100;
/** Speech is confirmed 250 ms after it starts (turn-detector.ts): kept besides the prefix padding while idle. */
const IDLE_KEEP_MS = 500;

/** What a live turn needs (the session's signal among it), and the session's own. */
export interface SessionTurnsDeps extends LiveTurnDeps {
  /** The session's id: its stream on the audio thread. */
  id: string;
  /** The session, as the load knows its turns' owner. */
  owner: object;
  audio: AudioPool;
  load: Pick<RealtimeLoad, 'track'>;
  /** The route's final turns in the pipeline at once (final-turn.ts). */
  turnSlots: Admission;
  generation: Generation;
  /** The session's settings now. */
  config(): SessionConfig;
}

const ms = (samples: number) => Math.round((samples * 1000) / SAMPLE_RATE);

export class SessionTurns {
  private readonly buffer = new SampleBuffer();
  private detector: TurnDetector | undefined;
  /** The item of the speech in progress (server_vad), from speech_started on. */
  private speechItem: string | undefined;
  /** The turn in progress while it is decoded for deltas (its item: speechItem, or the next manual commit's). */
  private live: LiveTurn | undefined;
  private readonly queue: TurnQueue;

  constructor(private readonly deps: SessionTurnsDeps) {
    const { pipeline, metrics, log, send, session, generation, load, turnSlots } = deps;
    this.detect(deps.config().turnDetection);
    this.queue = new TurnQueue({ pipeline, metrics, log, send, session, turnSlots }, generation, load, deps.owner);
  }

  /** Turns still being transcribed. */
  get open(): number {
    return this.queue.open;
  }

  /** Turn detection changed: the speech in progress, if any, is dropped. */
  detect(settings: SessionConfig['turnDetection']): void {
    this.detector = settings ? new TurnDetector(settings) : undefined;
    this.speechItem = undefined;
    this.dropLive('turn detection changed');
  }

  /** Audio bytes of the client's; `flush` (a commit's) ends the stream's resampling at them. */
  async push(format: AudioFormat, bytes: Uint8Array, flush: boolean): Promise<void> {
    const vad = this.detector !== undefined;
    const { samples, probs } = await this.deps.audio.push(this.deps.id, format, bytes, { vad, flush });
    if (this.deps.session.aborted) return;
    const config = this.deps.config();
    const maxTurn = this.deps.limits.max_turn_s * SAMPLE_RATE;
    if (!vad && this.buffer.length + samples.length > maxTurn) {
      throw new RealtimeError('input_audio_buffer_full', `The buffer holds ${this.deps.limits.max_turn_s} s, the longest turn; commit or clear it. This audio was dropped.`, 'audio');
    }
    this.buffer.push(samples);
    if (!this.detector) {
      // Manual commits: the turn in progress is all the buffer holds; its item is named when its audio starts.
      if (this.buffer.length > 0) this.live ??= this.liveTurn(newId('item'));
      if (!flush) this.live?.tick(this.buffer, config);
      return;
    }
    for (const turn of this.detector.push(probs)) {
      if (turn.type === 'start') this.speechStarted(turn.at, config);
      else this.speechStopped(Math.min(this.buffer.end, turn.at + samplesIn(TAIL_PADDING_MS)));
    }
    if (this.speechItem && this.buffer.length >= maxTurn) {
      this.detector.reset();
      this.speechStopped(this.buffer.end);
    }
    if (!this.detector.speaking && !this.speechItem) this.buffer.keepLast(samplesIn(config.turnDetection!.prefix_padding_ms + IDLE_KEEP_MS));
    if (!flush) this.live?.tick(this.buffer, config); // a flush is a commit's: its turn ends now
  }

  /** input_audio_buffer.commit: the buffer so far is a turn. */
  async commit(): Promise<void> {
    await this.push(this.deps.config().format, new Uint8Array(0), true);
    if (this.buffer.length < samplesIn(MIN_COMMIT_MS)) {
      throw new RealtimeError('input_audio_buffer_commit_empty', `buffer too small. Expected at least ${MIN_COMMIT_MS}ms of audio, but buffer only has ${ms(this.buffer.length)}ms of audio.`);
    }
    const item = this.speechItem ?? this.live?.item ?? newId('item');
    this.speechItem = undefined;
    this.detector?.reset();
    this.queue.commit(item, this.buffer.take(this.buffer.end), this.deps.config(), this.takeLive(item));
  }

  /** input_audio_buffer.clear. */
  clear(): void {
    this.buffer.take(this.buffer.end);
    this.detector?.reset();
    this.speechItem = undefined;
    this.dropLive('input_audio_buffer.clear');
    this.deps.send({ type: 'input_audio_buffer.cleared', event_id: newId('event') });
  }

  /** The session ends: speech in progress becomes a last turn; settles once every turn has answered. */
  async finish(): Promise<void> {
    if (this.speechItem && !this.deps.session.aborted) this.speechStopped(this.buffer.end);
    await this.queue.settled();
  }

  /** The session is shed (load.ts): the speech in progress is dropped and the open turns fail with `reason`. */
  shed(reason: RealtimeError): void {
    this.speechItem = undefined;
    this.detector?.reset();
    this.dropLive('the session was shed');
    this.queue.withdrawAll(reason);
  }

  /** The socket closed: the audio and the turn in progress are let go. */
  dispose(): void {
    this.buffer.take(this.buffer.end);
    this.dropLive('the session closed');
  }

  private liveTurn(item: string): LiveTurn {
    return new LiveTurn(item, this.buffer.start, this.deps);
  }

  /** The turn in progress is committed: its partial stops; returns what its deltas fixed. */
  private takeLive(item: string): TurnText | undefined {
    const live = this.live?.item === item ? this.live : undefined;
    if (live) this.live = undefined;
    else this.dropLive('another turn was committed');
    return live?.commit();
  }

  /** The turn in progress is gone without a commit (`why`: cleared, turn detection changed, session closed). */
  private dropLive(why: string): void {
    this.live?.discard(why);
    this.live = undefined;
  }

  private speechStarted(at: number, config: SessionConfig): void {
    this.speechItem = newId('item');
    const from = Math.max(this.buffer.start, at - samplesIn(config.turnDetection!.prefix_padding_ms));
    this.buffer.dropBefore(from);
    this.deps.send({ type: 'input_audio_buffer.speech_started', event_id: newId('event'), audio_start_ms: ms(from), item_id: this.speechItem });
    this.dropLive('new speech started');
    this.live = this.liveTurn(this.speechItem);
  }

  private speechStopped(end: number): void {
    const item = this.speechItem!;
    this.speechItem = undefined;
    this.deps.send({ type: 'input_audio_buffer.speech_stopped', event_id: newId('event'), audio_end_ms: ms(end), item_id: item });
    this.queue.commit(item, this.buffer.take(end), this.deps.config(), this.takeLive(item));
  }
}
