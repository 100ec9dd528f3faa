// Whether the route keeps up with its realtime sessions, judged by their committed
// turns: a turn is due max_turn_lag_s plus turn_lag_rtf x its audio length after it
// ended (a server that transcribes at half real time answers a 10 s turn within 5 s
// plus the lag). Realtime audio arrives whether or not the server keeps up, so a
// server past capacity falls further behind every second; the bench showed 8 streams
// of the 0.6B shape on 2 cores answering after 50 s and leaving a quarter of the
// turns unanswered. While a turn is overdue:
//  - new sessions are refused (error event, close 1013: retry later);
//  - the newest session is shed: it is told why, its open turns finish, and it
//    closes with 1013, so the older sessions get the capacity it took; one at a
//    time, the next no sooner than max_turn_lag_s after the last one closed, so
//    each shed shows its effect before the next.
// Partials are optional work: they yield while any turn has been open longer than
// yieldS (partials.ts), before anything is overdue.

export interface LoadLimits {
  max_turn_lag_s: number;
  turn_lag_rtf: number;
}

export class RealtimeLoad {
  /** Open final turns: when each is due (ms on `now`'s clock) and when it began. */
  private readonly open = new Map<symbol, { began: number; due: number }>();
  /** When the last shed session closed (Infinity while it is still finishing its turns). */
  private lastShed = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  /** `shed` closes a session while a turn is overdue, settling once it has closed; undefined when there is none to shed. */
  constructor(
    private readonly limits: LoadLimits,
    private readonly shed: () => Promise<void> | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A committed turn of `audioS` seconds goes to the pipeline; call the returned function once it has answered. */
  track(audioS: number): () => void {
    const key = Symbol('turn');
    const began = this.now();
    this.open.set(key, { began, due: began + (this.limits.max_turn_lag_s + this.limits.turn_lag_rtf * audioS) * 1000 });
    this.timer ??= setInterval(() => this.check(), Math.min(1000, this.limits.max_turn_lag_s * 500)).unref();
    return () => {
      this.open.delete(key);
      if (this.open.size === 0) this.stopTimer();
    };
  }

  /** True while some open turn is past its due time. */
  get overdue(): boolean {
    const now = this.now();
    for (const { due } of this.open.values()) if (now > due) return true;
    return false;
  }

  /** Seconds the longest-open turn has been open (0 when none is). */
  oldestOpenS(): number {
    let began = Infinity;
    for (const turn of this.open.values()) began = Math.min(began, turn.began);
    return began === Infinity ? 0 : (this.now() - began) / 1000;
  }

  /** Sheds a session when a turn is overdue and the last shed session closed long enough ago (called by the timer). */
  check(): void {
    if (!this.overdue || this.now() - this.lastShed < this.limits.max_turn_lag_s * 1000) return;
    const closed = this.shed();
    if (!closed) return;
    this.lastShed = Infinity;
    void closed.finally(() => (this.lastShed = this.now()));
  }

  close(): void {
    this.stopTimer();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
