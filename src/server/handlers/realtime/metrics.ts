// Prometheus metrics of the realtime handler, in the server's registry: sessions
// open now, refused and shed (load.ts), turns by outcome, and per turn the time from the end of
// its audio (commit or detected end of speech) to the first delta and to the
// completed transcript; partials (decodes during a turn) by outcome, and the time
// from the audio a delta's text was decoded from to the delta.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ServerMetrics } from '../../metrics.js';

const LATENCY_BUCKETS_S = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];
/** A partial delta trails its audio by about one partial interval (2 s) plus decode time: finer there. */
const PARTIAL_BUCKETS_S = [0.25, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 15, 30, 60];

export type TurnOutcome = 'completed' | 'failed' | 'cancelled';
/** skipped: due, but the pipeline was busy (partials.ts PartialGate); counted once per due partial. */
export type PartialOutcome = TurnOutcome | 'skipped';

export class RealtimeMetrics {
  readonly sessions: Gauge;
  readonly refused: Counter<'reason'>;
  readonly shed: Counter;
  readonly turns: Counter<'outcome'>;
  readonly turnSeconds: Histogram;
  readonly firstDeltaSeconds: Histogram;
  readonly partials: Counter<'outcome'>;
  readonly partialsRunning: Gauge;
  readonly partialBackoff: Gauge;
  readonly partialDeltaSeconds: Histogram;

  constructor(registry: Registry, prefix: string) {
    const registers = [registry];
    this.sessions = new Gauge({ name: `${prefix}realtime_sessions_open`, help: 'Realtime transcription sessions open now', registers });
    this.refused = new Counter({ name: `${prefix}realtime_sessions_refused_total`, help: 'Realtime sessions refused at connect, by reason', labelNames: ['reason'], registers });
    this.shed = new Counter({ name: `${prefix}realtime_sessions_shed_total`, help: 'Realtime sessions closed (1013) because the server was behind with their turns', registers });
    this.turns = new Counter({ name: `${prefix}realtime_turns_total`, help: 'Realtime turns transcribed, by outcome', labelNames: ['outcome'], registers });
    this.turnSeconds = new Histogram({ name: `${prefix}realtime_turn_latency_seconds`, help: 'Time from the end of a turn (commit or end of speech) to its completed transcript', buckets: LATENCY_BUCKETS_S, registers });
    this.firstDeltaSeconds = new Histogram({ name: `${prefix}realtime_first_delta_seconds`, help: 'Time from the end of a turn to its first transcript delta', buckets: LATENCY_BUCKETS_S, registers });
    this.partials = new Counter({ name: `${prefix}realtime_partials_total`, help: 'Decodes of turns in progress, by outcome (skipped: the pipeline was busy)', labelNames: ['outcome'], registers });
    this.partialsRunning = new Gauge({ name: `${prefix}realtime_partials_running`, help: 'Decodes of turns in progress in the pipeline now', registers });
    this.partialBackoff = new Gauge({ name: `${prefix}realtime_partial_backoff`, help: 'What the partial interval is multiplied by now (1, 2 or 4): it doubles while partials are mostly cut short by their turn\'s end', registers });
    this.partialDeltaSeconds = new Histogram({ name: `${prefix}realtime_partial_delta_seconds`, help: 'Time from the arrival of the last audio a partial delta was decoded from to the delta', buckets: PARTIAL_BUCKETS_S, registers });
  }

  static of(metrics: ServerMetrics): RealtimeMetrics {
    return metrics.handlerMetrics('openai-realtime', (registry, prefix) => new RealtimeMetrics(registry, prefix));
  }
}
