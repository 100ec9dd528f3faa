// Whether the route keeps up with its realtime sessions, judged by their committed
// turns: a turn is due max_turn_lag_s plus turn_lag_rtf x its audio length after it
// ended (a server that transcribes at half real time answers a 10 s turn within 5 s
// plus the lag). Realtime audio arrives whether or not the server keeps up, so a
// server past capacity falls further behind every second; the bench showed 8 streams
// of the 0.6B shape on 2 cores answering after 50 s and leaving a quarter of the
// turns unanswered. The route is behind while a turn is overdue, or while the audio
// of the open turns would take longer than max_turn_lag_s to answer at the measured
// capacity C: the audio seconds answered per second during which some turn was open,
// over the last 2 x max_turn_lag_s (known once MIN_ANSWERS turns were answered in it;
// counting busy time only, a quiet spell does not lower it, and a batch still
// decoding does not read as no capacity). While it is behind:
//  - new sessions are refused (error event, close 1013: retry later);
//  - if the sessions not shed commit audio faster than C (their demand D, audio
//    seconds per second over the window), the newest sessions are shed, the
//    fraction 1 - C/D of them: each is told why, its open turns fail with the same
//    error and it closes with 1013 (session.ts), so its backlog goes with it and
//    the older sessions get the capacity it took. Before C is known the
//    fraction is 1 - answered/committed over the window, at most half at a time. The
//    next look comes max_turn_lag_s later.
// While the server answers as fast as turns come, nothing is shed: its backlog drains.
// Measured (bench/realtime, 0.6B shape on 2 cores): 8 sessions, shedding one at a time
// after each wait, shed 2 of 8 in 60 s and turns still waited 42 s. 32 sessions
// arriving at once, shedding half per look only once a turn was overdue while shed
// sessions still finished their turns: 29 shed, yet 64 of 145 turns unanswered at 90 s.
// Partials are optional work: they yield while any turn has been open longer than
// a partial interval (partials.ts), before anything is overdue.

/** Answers in the window before its capacity is taken as measured. */
const MIN_ANSWERS = 3;

export interface LoadLimits {
  max_turn_lag_s: number;
  turn_lag_rtf: number;
}

export interface LoadFigures {
  /** Audio seconds answered per busy second over the window; undefined before MIN_ANSWERS. */
  capacity: number | undefined;
  /** Audio seconds per second the sessions not shed committed over the window. */
  demand: number;
  /** Audio seconds answered, and committed by sessions not shed, in the window. */
  answeredS: number;
  committedS: number;
  /** Seconds the open turns' audio would take at `capacity` (0 while it is unknown). */
  waitS: number;
}

export class RealtimeLoad {
  /** Open final turns: when each began and is due (ms on `now`'s clock), and its audio seconds. */
  private readonly open = new Map<symbol, { began: number; due: number; seconds: number }>();
  /** Audio seconds of turns committed (and by whom) and answered, by time, over the last 2 x max_turn_lag_s. */
  private readonly committed: [at: number, seconds: number, owner: object][] = [];
  private readonly answered: [at: number, seconds: number][] = [];
  /** Owners shed: their commits no longer count as demand. */
  private readonly gone = new WeakSet<object>();
  /** Spans (ms) in the window during which some turn was open; the last one's end is Infinity while one is. */
  private readonly busy: [from: number, to: number][] = [];
  /** When the load last began to see turns (after being idle): demand is a rate over the time since. */
  private since = 0;
  private lastShed = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  /** `shed(fraction, why)` closes that fraction of the sessions, newest first, and returns the owners (track's) it shed. */
  constructor(
    private readonly limits: LoadLimits,
    private readonly shed: (fraction: number, why: LoadFigures) => object[],
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * `owner`'s committed turn of `audioS` seconds goes to the pipeline; call the returned function once it
   * has answered, with `decoded` false when it was withdrawn or cancelled (its audio is no measure of capacity).
   */
  track(audioS: number, owner: object): (decoded?: boolean) => void {
    const key = Symbol('turn');
    const began = this.now();
    if (this.open.size === 0) this.busy.push([began, Infinity]);
    this.open.set(key, { began, due: began + (this.limits.max_turn_lag_s + this.limits.turn_lag_rtf * audioS) * 1000, seconds: audioS });
    this.committed.push([began, audioS, owner]);
    if (this.timer === undefined) {
      this.since = began;
      this.timer = setInterval(() => this.check(), Math.min(1000, this.limits.max_turn_lag_s * 500)).unref();
    }
    return (decoded = true) => {
      if (!this.open.delete(key)) return;
      const at = this.now();
      if (decoded) this.answered.push([at, audioS]);
      if (this.open.size === 0) this.busy[this.busy.length - 1][1] = at;
    };
  }

  /** Behind: a turn is overdue, or the open turns' audio would take longer than max_turn_lag_s at the measured capacity. */
  get behind(): boolean {
    return this.behindBy(this.figures());
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

  /** What the load reads now: capacity and demand (audio s/s; capacity undefined until measured) and the predicted wait (s). */
  figures(): LoadFigures {
    const now = this.now();
    const lag = this.limits.max_turn_lag_s;
    const from = this.windowStart(now);
    let busyMs = 0;
    for (const [start, end] of this.busy) busyMs += Math.max(0, Math.min(end, now) - Math.max(start, from));
    let answeredS = 0;
    let answers = 0;
    for (const [at, seconds] of this.answered) if (at >= from) (answeredS += seconds), answers++;
    const capacity = answers >= MIN_ANSWERS && busyMs > 0 ? answeredS / (busyMs / 1000) : undefined;
    const committedS = this.committed.reduce((sum, [at, seconds, owner]) => sum + (at >= from && !this.gone.has(owner) ? seconds : 0), 0);
    // At least one lag: a burst of first turns is not read as a lasting rate.
    const spanS = Math.min(2 * lag, Math.max(lag, (now - this.since) / 1000));
    let openS = 0;
    for (const turn of this.open.values()) openS += turn.seconds;
    return { capacity, demand: committedS / spanS, answeredS, committedS, waitS: capacity ? openS / capacity : 0 };
  }

  /** While behind and turns come faster than they are answered, sheds sessions (called by the timer). */
  check(): void {
    const now = this.now();
    this.forgetBefore(this.windowStart(now));
    if (this.open.size === 0 && this.committed.length === 0 && this.answered.length === 0) return this.stopTimer();
    if (now - this.lastShed < this.limits.max_turn_lag_s * 1000) return;
    const why = this.figures();
    if (!this.behindBy(why)) return;
    const { capacity, demand, answeredS, committedS } = why;
    const fraction = capacity === undefined ? Math.min(0.5, 1 - answeredS / committedS) : 1 - capacity / demand;
    if (!(fraction > 0)) return;
    const shed = this.shed(fraction, why);
    for (const owner of shed) this.gone.add(owner);
    if (shed.length > 0) this.lastShed = now;
  }

  close(): void {
    this.stopTimer();
  }

  /** Behind, given what the load reads now. */
  private behindBy(figures: LoadFigures): boolean {
    return this.overdue || figures.waitS > this.limits.max_turn_lag_s;
  }

  /** Start (ms) of the window the load reads: the last 2 x max_turn_lag_s. */
  private windowStart(now: number): number {
    return now - 2 * this.limits.max_turn_lag_s * 1000;
  }

  /** Drops commits and answers older than `from` (ms). */
  private forgetBefore(from: number): void {
    while (this.committed.length > 0 && this.committed[0][0] < from) this.committed.shift();
    while (this.answered.length > 0 && this.answered[0][0] < from) this.answered.shift();
    while (this.busy.length > 0 && this.busy[0][1] < from) this.busy.shift();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
