// The bounds of realtime sessions. Defaults suit the 32-stream target of the
// qwen3-asr pipeline (admission.max_running 32); each can be set from the
// environment (SGL_OMNI_REALTIME_<NAME>, e.g. SGL_OMNI_REALTIME_MAX_SESSIONS=8),
// read when the route is mounted. A bad value stops the server at start.
// The partial_* values shape transcription during a turn (partials.ts): every
// partial_interval_s of new speech the turn so far is re-decoded, forcing the last
// partial's answer less its partial_unfixed_tokens last tokens (the official
// qwen-asr streaming's chunk_size_sec, unfixed_token_num, unfixed_chunk_num).
// max_turn_lag_s and turn_lag_rtf say when the server is behind (load.ts).
// max_turns_running bounds the final turns of all sessions in the pipeline at once;
// the rest wait in commit order (final-turn.ts).
// RateCredit applies burst_s to a session's appends.
import { RealtimeError } from './events.js';

export interface RealtimeLimits {
  /** Sessions open at once; the next is refused with an error event and close code 1013. */
  max_sessions: number;
  /** A session whose client sends nothing for this long is closed. */
  idle_timeout_s: number;
  /** A session is closed after this long, whatever it does (OpenAI: 60 minutes). */
  max_session_s: number;
  /** Audio a client may send ahead of real time; past it appends are refused. */
  burst_s: number;
  /** Longest turn: manual appends past it are refused, a detected turn is committed at it. */
  max_turn_s: number;
  /** Largest event read (a bigger append is refused, the session stays open). */
  max_event_bytes: number;
  /** Bad events in a row after which the session is closed (1008). */
  max_bad_events: number;
  /** Threads that resample and run the VAD for the sessions (each session stays on one). */
  audio_threads: number;
  /** New speech after which a turn in progress is re-decoded for deltas (0 = deltas only after the turn). */
  partial_interval_s: number;
  /** Tokens at the end of the last partial that the next may still revise (official: unfixed_token_num). */
  partial_unfixed_tokens: number;
  /** Intervals before a turn's first partial, which forces nothing (official: unfixed_chunk_num; its earlier
   *  unforced chunks are only shown, never sent on OpenAI's wire, so they are not run). */
  partial_unfixed_chunks: number;
  /** Partials stop past this turn length: the decoder forces a prefix on one segment, and the features
   *  stage cuts audio into 30 s segments (max_segment_s); the final decode still forces what was sent. */
  partial_max_turn_s: number;
  /** Partials of all sessions in the pipeline at once; past it, and while requests wait for admission, partials are skipped. */
  max_partials_running: number;
  /** A committed turn is overdue this long plus turn_lag_rtf x its length after it ended. While one is, or the
   *  open turns would take longer than this at the measured capacity, new sessions are refused and, when turns
   *  come faster than they are answered, the newest shed (load.ts). */
  max_turn_lag_s: number;
  /** Final turns of all sessions in the pipeline at once; later ones wait, in commit order, for one to finish. */
  max_turns_running: number;
  /** Seconds of transcription per second of a turn's audio that its due time allows (0: max_turn_lag_s alone). */
  turn_lag_rtf: number;
}

export const DEFAULT_LIMITS: RealtimeLimits = {
  max_sessions: 64,
  idle_timeout_s: 60,
  max_session_s: 3600,
  burst_s: 10,
  max_turn_s: 120,
  max_event_bytes: 2 ** 20,
  max_bad_events: 10,
  audio_threads: 1,
  partial_interval_s: 2,
  partial_unfixed_tokens: 5,
  partial_unfixed_chunks: 2,
  partial_max_turn_s: 28,
  // Half of admission.max_running (32): final turns and HTTP requests always find room.
  max_partials_running: 16,
  max_turn_lag_s: 10,
  turn_lag_rtf: 0.5,
  // The pipeline shares its machine among the requests it runs: with 32 turns in it at once on
  // the 0.6B shape on 2 cores, none was answered for 30 s, so the load could not measure its
  // capacity and shed half per look down to 1 session of 32 (bench/realtime). With 8, the first
  // answers came within the first look, which kept 6 sessions (p50 2.8 s over the second half).
  // On tiny, 32 sessions make ~5 turns a second of ~50 ms each: 8 is room enough.
  max_turns_running: 8,
};

/** Limits that may be 0 (off / none). */
const ZERO_ALLOWED = new Set<keyof RealtimeLimits>(['partial_interval_s', 'partial_unfixed_tokens', 'partial_unfixed_chunks', 'turn_lag_rtf']);

const PREFIX = 'SGL_OMNI_REALTIME_';

/** Audio a session may still send ahead of real time: burst_s, refilled at one second per second. */
export class RateCredit {
  private credit: number;
  private at = performance.now();

  constructor(private readonly burstS: number) {
    this.credit = burstS;
  }

  /** Takes `seconds` of audio; throws RealtimeError (the append dropped) when it is more than the credit. */
  spend(seconds: number): void {
    const now = performance.now();
    this.credit = Math.min(this.burstS, this.credit + (now - this.at) / 1000);
    this.at = now;
    if (seconds > this.credit) {
      throw new RealtimeError('input_audio_buffer_rate_exceeded', `Audio is arriving faster than real time: ${seconds.toFixed(2)} s sent with ${this.credit.toFixed(2)} s of allowance left (at most ${this.burstS} s ahead of real time); this append was dropped.`, 'audio');
    }
    this.credit -= seconds;
  }
}

/** DEFAULT_LIMITS with the environment's overrides; throws naming the variable when one is not a positive number (or 0 where allowed). */
export function readLimits(env: NodeJS.ProcessEnv = process.env): RealtimeLimits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(limits) as (keyof RealtimeLimits)[]) {
    const name = PREFIX + key.toUpperCase();
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    const zero = ZERO_ALLOWED.has(key);
    if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(value > 0 || (zero && value === 0))) throw new Error(`${name} must be a ${zero ? 'non-negative' : 'positive'} number (got '${raw}')`);
    limits[key] = value;
  }
  return limits;
}
