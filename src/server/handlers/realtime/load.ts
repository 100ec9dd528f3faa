// Whether the route keeps up with its realtime sessions, judged by their committed
// turns: a turn is due max_turn_lag_s plus turn_lag_rtf x its audio length after it
// ended (a server that transcribes at half real time answers a 10 s turn within 5 s
// plus the lag). Realtime audio arrives whether or not the server keeps up, so a
// server past capacity falls further behind every second; the bench showed 8 streams
// of the 0.6B shape on 2 cores answering after 50 s and leaving a quarter of the
// turns unanswered. While a turn is overdue:
//  - new sessions are refused (error event, close 1013: retry later);
//  - if, over the last 2 x max_turn_lag_s, the sessions not shed committed turns
//    faster than turns were answered (in audio seconds: their demand D against what
//    the saturated pipeline delivered, its capacity C), the newest sessions are
//    shed, the fraction 1 - C/D of them but at most half at a time: each is told
//    why, its speech and open turns still finish, and it closes with 1013, so the
//    older sessions get the capacity it took. The next look comes max_turn_lag_s
//    later. While the server answers as fast as turns come, nothing is shed: its
//    backlog drains.
// Measured (bench/realtime, 0.6B shape, 8 sessions on 2 cores): shedding one session
// at a time, each waiting for its backlog, shed 2 of 8 in 60 s and turns still waited
// 42 s; the fraction over one lag window, uncapped, shed 7 of 8 at the first look,
// the window's answers being lumpy while the first batch was still decoding.
// Partials are optional work: they yield while any turn has been open longer than
// a partial interval (partials.ts), before anything is overdue.

export interface LoadLimits {
  max_turn_lag_s: number;
  turn_lag_rtf: number;
}

export class RealtimeLoad {
  /** Open final turns: when each began and is due (ms on `now`'s clock). */
  private readonly open = new Map<symbol, { began: number; due: number }>();
  /** Audio seconds of turns committed (and by whom) and answered, by time, over the last 2 x max_turn_lag_s. */
  private readonly committed: [at: number, seconds: number, owner: object][] = [];
  private readonly answered: [at: number, seconds: number][] = [];
  /** Owners shed: their commits no longer count as demand. */
  private readonly gone = new WeakSet<object>();
  private lastShed = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  /** `shed(fraction)` closes that fraction of the sessions, newest first, and returns the owners (track's) it shed. */
  constructor(
    private readonly limits: LoadLimits,
    private readonly shed: (fraction: number) => object[],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** `owner`'s committed turn of `audioS` seconds goes to the pipeline; call the returned function once it has answered. */
  track(audioS: number, owner: object): () => void {
    const key = Symbol('turn');
    const began = this.now();
    this.open.set(key, { began, due: began + (this.limits.max_turn_lag_s + this.limits.turn_lag_rtf * audioS) * 1000 });
    this.committed.push([began, audioS, owner]);
    this.timer ??= setInterval(() => this.check(), Math.min(1000, this.limits.max_turn_lag_s * 500)).unref();
    return () => {
      this.open.delete(key);
      this.answered.push([this.now(), audioS]);
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

  /** While a turn is overdue and turns come faster than they are answered, sheds sessions (called by the timer). */
  check(): void {
    const now = this.now();
    this.forgetBefore(now - 2 * this.limits.max_turn_lag_s * 1000);
    if (this.open.size === 0 && this.committed.length === 0 && this.answered.length === 0) return this.stopTimer();
    if (!this.overdue || now - this.lastShed < this.limits.max_turn_lag_s * 1000) return;
    const demand = this.committed.reduce((sum, [, seconds, owner]) => sum + (this.gone.has(owner) ? 0 : seconds), 0);
    const capacity = this.answered.reduce((sum, [, seconds]) => sum + seconds, 0);
    if (demand <= capacity) return;
    const shed = this.shed(Math.min(0.5, 1 - capacity / demand));
    for (const owner of shed) this.gone.add(owner);
    if (shed.length > 0) this.lastShed = now;
  }

  close(): void {
    this.stopTimer();
  }

  /** Drops commits and answers older than `from` (ms). */
  private forgetBefore(from: number): void {
    while (this.committed.length > 0 && this.committed[0][0] < from) this.committed.shift();
    while (this.answered.length > 0 && this.answered[0][0] < from) this.answered.shift();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
