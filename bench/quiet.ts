// Quiet-machine check for every benchmark that prints timings or ratios. A
// number measured while other processes share the cores is silently wrong
// (issue 18: the batching issue's figures were 1.3-2.6x off), so each sample
// carries the CPU time that *other* processes took while it ran:
//
//   others = Δ(busy jiffies of the whole machine, /proc/stat, steal included)
//          - Δ(utime + stime of our own processes, /proc/<pid>/stat)
//
// expressed in cores (others / wall). Our own processes are this one (every
// worker thread is in its stat) plus any child the bench names (the Python
// peer). The counters tick every 10 ms, so 3 ticks are taken off as grain
// (short phases would otherwise read as several cores from one stray tick; a
// 300 ms phase on 2 cores resolves ~0.1 core). A sample is disturbed when
// others still exceed `maxOtherCores` (default 0.1) of its wall time. Disturbed
// samples are retaken a few times; those that stay disturbed are marked, and
// `ratioLine` refuses to print a ratio from a series that holds one, saying why.
// The 1-minute load average is printed beside (it lags and counts our own
// threads, so it informs but does not decide).
import fs from 'node:fs';
import os from 'node:os';

/** USER_HZ: the unit of /proc/stat and /proc/<pid>/stat on every Linux build node runs on. */
const TICKS_PER_S = 100;
/** Jiffies of measurement grain allowed on top of maxOtherCores (each counter rounds to 10 ms). */
const GRAIN_TICKS = 3;

export interface QuietOptions {
  /** Average cores other processes may use during a sample before it counts as disturbed (default 0.1). */
  maxOtherCores?: number;
  /** Pids besides this process whose CPU time is ours (e.g. a child the bench drives). */
  ownPids?: () => number[];
}

export interface QuietReading {
  wallMs: number;
  /** Average cores used by other processes while the sample ran. */
  otherCores: number;
  /** Cores our own processes used. */
  ownCores: number;
  load1: number;
  disturbed: boolean;
}

interface Snapshot { t: number; busy: number; own: number }

/** Busy jiffies over all CPUs: user nice system idle iowait irq softirq steal → all but idle and iowait. */
function machineBusyTicks(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1, 9).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
}

/**
 * utime + stime of one process (all its threads); for ourselves also cutime + cstime, the
 * children we have reaped (ffmpeg, sox); 0 once a process has gone.
 */
function processTicks(pid: number | 'self'): number {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // comm (field 2) may hold spaces; fields after its closing parenthesis start at field 3.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const own = Number(rest[11]) + Number(rest[12]);
  return pid === 'self' ? own + Number(rest[13]) + Number(rest[14]) : own;
}

export class QuietMeter {
  readonly maxOtherCores: number;
  private readonly ownPids: () => number[];

  constructor(opts: QuietOptions = {}) {
    this.maxOtherCores = opts.maxOtherCores ?? 0.1;
    this.ownPids = opts.ownPids ?? (() => []);
  }

  private snapshot(): Snapshot {
    const own = processTicks('self') + this.ownPids().reduce((a, p) => a + processTicks(p), 0);
    return { t: performance.now(), busy: machineBusyTicks(), own };
  }

  private reading(a: Snapshot, b: Snapshot): QuietReading {
    const wallMs = b.t - a.t;
    const ownTicks = b.own - a.own;
    // Beyond the counters' grain: a 5 ms phase that straddles one tick of someone else is not 2 cores.
    const otherTicks = Math.max(0, b.busy - a.busy - ownTicks - GRAIN_TICKS);
    const wallTicks = Math.max(1, (wallMs / 1000) * TICKS_PER_S);
    const otherCores = otherTicks / wallTicks;
    return { wallMs, otherCores, ownCores: ownTicks / wallTicks, load1: os.loadavg()[0], disturbed: otherCores > this.maxOtherCores };
  }

  /** Runs fn once and says how much other processes took meanwhile. */
  async measure<T>(fn: () => Promise<T> | T): Promise<{ value: T; quiet: QuietReading }> {
    const a = this.snapshot();
    const value = await fn();
    return { value, quiet: this.reading(a, this.snapshot()) };
  }

  /** Watches an idle second: what other processes use before the bench starts. */
  async idle(ms = 1000): Promise<QuietReading> {
    const a = this.snapshot();
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.reading(a, this.snapshot());
  }

  /** One line about the machine for the top of a bench's output. */
  async banner(): Promise<string> {
    const r = await this.idle();
    const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
    const verdict = r.disturbed ? 'NOT QUIET: ratios will be refused if this persists' : 'quiet';
    return `machine: ${os.cpus().length} cores, load average ${load}; other processes used ${r.otherCores.toFixed(2)} cores over an idle ${(r.wallMs / 1000).toFixed(1)} s (limit ${this.maxOtherCores}): ${verdict}`;
  }
}

/** A timed figure taken several times; each sample remembers how quiet the machine was. */
export class Series {
  readonly samples: { value: number; quiet: QuietReading }[] = [];

  constructor(readonly name: string) {}

  add(value: number, quiet: QuietReading): void {
    this.samples.push({ value, quiet });
  }

  get disturbed(): number {
    return this.samples.filter((s) => s.quiet.disturbed).length;
  }

  get worstOtherCores(): number {
    return Math.max(0, ...this.samples.map((s) => s.quiet.otherCores));
  }

  min(): number {
    return Math.min(...this.samples.map((s) => s.value));
  }

  median(): number {
    const xs = this.samples.map((s) => s.value).sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)];
  }

  /** "min / median (n, k disturbed, others ≤ x cores)". */
  describe(digits = 1): string {
    if (this.samples.length === 0) return 'n/a (no samples)';
    const d = this.disturbed ? `, ${this.disturbed} DISTURBED` : '';
    return `${this.min().toFixed(digits)} / ${this.median().toFixed(digits)} (n=${this.samples.length}${d}, others ≤ ${this.worstOtherCores.toFixed(2)} cores)`;
  }
}

/**
 * Why a ratio between these series must not be printed, or undefined when it may. `run` is the
 * reading over the whole measured run: phases shorter than a few ticks cannot see steady load by
 * themselves, the run as a whole can.
 */
export function refusal(series: Series[], run?: QuietReading): string | undefined {
  const bad = series.filter((s) => s.disturbed > 0);
  const why: string[] = [];
  if (bad.length) {
    const worst = bad.reduce((a, s) => (s.worstOtherCores > a.worstOtherCores ? s : a));
    const count = series.length > 1 ? `${bad.length} of ${series.length} figures have disturbed samples; worst ` : '';
    why.push(`${count}${worst.name}: ${worst.disturbed}/${worst.samples.length} samples while other processes used up to ${worst.worstOtherCores.toFixed(2)} cores`);
  }
  if (run?.disturbed) why.push(`other processes used ${run.otherCores.toFixed(2)} cores over the whole ${(run.wallMs / 1000).toFixed(0)} s run`);
  return why.length ? `refused, disturbed run: ${why.join('; ')}` : undefined;
}

/** "label: a/b as min and median ratios", or the refusal. */
export function ratioLine(label: string, a: Series, b: Series, run?: QuietReading): string {
  const why = refusal([a, b], run);
  if (why) return `${label}: ${why}`;
  return `${label}: ${(a.min() / b.min()).toFixed(2)}x (min) / ${(a.median() / b.median()).toFixed(2)}x (median)`;
}

/** The closing line of a bench: how quiet the whole measured run was. */
export function runLine(run: QuietReading, limit: number): string {
  return `whole run: ${(run.wallMs / 1000).toFixed(1)} s, other processes used ${run.otherCores.toFixed(2)} cores on average (limit ${limit})${run.disturbed ? ': DISTURBED, ratios refused' : ': quiet'}`;
}

/**
 * Takes one sample of fn, retaking it up to `retries` times while the machine was disturbed;
 * returns the last try (marked disturbed when none was quiet). `onRetry` hears each discarded try.
 */
export async function quietSample<T>(meter: QuietMeter, fn: () => Promise<T> | T, retries: number,
  onRetry?: (q: QuietReading) => void): Promise<{ value: T; quiet: QuietReading }> {
  for (let i = 0; ; i++) {
    const r = await meter.measure(fn);
    if (!r.quiet.disturbed || i >= retries) return r;
    onRetry?.(r.quiet);
  }
}

/** The figure printed with each sample: "others 0.02 cores, load 1.10" (+ " DISTURBED"). */
export function quietTag(q: QuietReading): string {
  return `others ${q.otherCores.toFixed(2)} cores, load ${q.load1.toFixed(2)}${q.disturbed ? ' DISTURBED' : ''}`;
}
