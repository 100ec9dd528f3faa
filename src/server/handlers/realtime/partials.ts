// Transcription during a turn, append-only. The official qwen-asr streaming
// re-decodes the growing audio every ~2 s, forcing the previous answer less its
// last few tokens (unfixed_token_num) as the start of the new one; only the forced
// part can no longer change. OpenAI's deltas are only ever appended, so a delta
// carries only text that a later partial forced (FIXED text), never a guess:
//  - partial n+1 forces partial n's raw answer (before the decoder's loop clean-up,
//    as the official `_raw_decoded`) less K tokens (request params answer_prefix /
//    answer_prefix_unfixed_tokens, cut by the decoder in tokens); the decoder says what
//    it forced (forced_text) and streams only past it; the part of the forced text
//    beyond what was sent is the next delta;
//  - the final decode at commit forces exactly the text sent (no unfixed tokens),
//    so the deltas, concatenated, are the completed transcript;
//  - a partial whose answer no longer starts with the text sent (its forced part fell
//    short of it: the answer before had fewer than K new tokens) is not used as the
//    next base; the next partial forces exactly the text sent instead.
// A TurnText belongs to one turn: nothing of it reaches the next turn.
import type { Gauge } from 'prom-client';
import type { Pipeline } from '../../../runtime/contracts.js';
import type { RealtimeLoad } from './load.js';

/** The model writes `language X<asr_text>` before its answer when no language is forced. */
const ASR_TEXT_TAG = '<asr_text>';


/** Params that make a decode start its answer with given text. */
export type PrefixParams = { answer_prefix?: string; answer_prefix_unfixed_tokens?: number };

/** What a decode of the turn gave. */
export interface DecodeOutcome {
  /** The transcript, after the decoder's clean-up of loops. */
  text: string;
  /** Its deltas joined: what it decoded past the forced part, before any clean-up. */
  streamed: string;
  /** The text it forced (absent when nothing was). */
  forced?: string;
  /** As the model names it (English); '' when it wrote none. */
  language: string;
}

/**
 * The text of one turn: what was sent and what the next decode forces. The session's language
 * may change during the turn, so each call says whether it is forced now: without a forced
 * language the model writes `language X<asr_text>` first, and a forced answer starts with it.
 */
export class TurnText {
  /** Text sent as deltas: every later decode of the turn forces it. */
  private sent = '';
  /** The language header of the answer the sent text was fixed in ('' when none). */
  private header = '';
  /** The next partial's answer_prefix (without a header), its header, and how many of its last tokens stay unfixed. */
  private base = '';
  private baseHeader = '';
  private baseUnfixed = 0;

  constructor(private readonly unfixedTokens: number) {}

  get fixed(): string {
    return this.sent;
  }

  /** Params of the next partial: nothing forced for the first (its answer is the next one's base). */
  nextPartial(forcedLanguage: boolean): PrefixParams {
    if (this.base === '') return {};
    return { answer_prefix: (forcedLanguage ? '' : this.baseHeader) + this.base, answer_prefix_unfixed_tokens: this.baseUnfixed };
  }

  /** Params of the final decode: the text sent, all of it fixed. */
  final(forcedLanguage: boolean): PrefixParams {
    if (this.sent === '') return {};
    return { answer_prefix: (forcedLanguage ? '' : this.header) + this.sent, answer_prefix_unfixed_tokens: 0 };
  }

  /** Takes a partial's outcome; returns the text it fixed beyond what was sent ('' when none). */
  accept(out: DecodeOutcome, forcedLanguage: boolean): string {
    const header = forcedLanguage || out.language === '' ? '' : `language ${out.language}${ASR_TEXT_TAG}`;
    const forced = out.forced ?? '';
    const raw = forced + out.streamed;
    if (!raw.startsWith(this.sent) || (!forcedLanguage && this.sent !== '' && header !== this.header)) {
      // It revised sent text (or its language): the next partial forces exactly the sent text instead.
      [this.base, this.baseHeader, this.baseUnfixed] = [this.sent, this.header, 0];
      return '';
    }
    [this.base, this.baseHeader, this.baseUnfixed] = [raw, header, this.unfixedTokens];
    if (forced.length <= this.sent.length) return '';
    const delta = forced.slice(this.sent.length);
    this.sent = forced;
    this.header = header;
    return delta;
  }
}

/** How a partial ended: used (completed), cut short by its turn's commit (cancelled), or failed. */
export type PartialEnd = 'completed' | 'cancelled' | 'failed';

/** Partial outcomes the back-off looks at, and its largest factor. */
const BACKOFF_WINDOW = 12;
const MAX_BACKOFF = 4;

/**
 * Admission of partials across all sessions of the route. The pipeline has no priorities, so
 * partials yield instead: one is skipped (never queued) while any request waits for admission,
 * while max_running partials are already in the pipeline, or while a committed turn has been
 * open longer than yield_s (a final decode slower than a partial interval: the CPU is short, and a
 * partial would slow the turns it competes with; load.ts). Final turns and HTTP requests thus
 * always find the slots partials leave (at least max_running - max_partials_running).
 * Back-off: a partial cut short by its turn's commit was decoded for nothing. While more of the
 * last BACKOFF_WINDOW partials were cut short than used, the partial interval doubles (up to
 * MAX_BACKOFF x); while at most a third were, it halves back. Measured on the 0.6B shape on 2
 * cores: 10 of 19 partials cut short, none of 18 turns with a delta before its end (a partial
 * there takes longer than the 4.9 s utterances leave).
 */
export class PartialGate {
  private running = 0;
  private readonly ends: PartialEnd[] = [];
  private factor = 1;

  constructor(private readonly deps: { pipeline: Pipeline; maxRunning: number; gauge: Gauge; backoffGauge?: Gauge; load: Pick<RealtimeLoad, 'oldestOpenS'>; yieldS: number }) {}

  /** What the partial interval is multiplied by now (1, 2 or 4). */
  get backoff(): number {
    return this.factor;
  }

  /** True (and counted as running) when a partial may start now; release() when it ends. */
  tryAcquire(): boolean {
    const { pipeline, maxRunning, gauge, load, yieldS } = this.deps;
    const waiting = pipeline.admissionCounts?.().waiting ?? 0;
    if (this.running >= maxRunning || waiting > 0 || load.oldestOpenS() > yieldS) return false;
    gauge.set(++this.running);
    return true;
  }

  /** The partial ended (`end`, when it counts: not when its session went away). */
  release(end?: PartialEnd): void {
    this.deps.gauge.set(--this.running);
    if (end === undefined || end === 'failed') return;
    this.ends.push(end);
    if (this.ends.length < BACKOFF_WINDOW) return;
    const cut = this.ends.filter((e) => e === 'cancelled').length;
    const before = this.factor;
    if (cut > BACKOFF_WINDOW - cut) this.factor = Math.min(MAX_BACKOFF, this.factor * 2);
    else if (cut <= BACKOFF_WINDOW / 3) this.factor = Math.max(1, this.factor / 2);
    // A new factor is judged on partials run under it.
    if (this.factor !== before) this.ends.length = 0;
    else this.ends.shift();
    this.deps.backoffGauge?.set(this.factor);
  }
}
