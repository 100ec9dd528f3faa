// Prometheus metrics of one server instance, in its own registry (never the
// global one, so several servers in one process stay apart). Stage gauges are
// read from each pipeline's stats() at scrape time; stage batches arrive through
// onStageBatch; the counters stage workers publish about their own work (tokens,
// decode steps, time in the model) are copied at scrape time. With several
// pipelines a stage is labelled `<pipeline>/<stage>` (two may both have `decode`).
// sgl_omni_requests_waiting{pipeline} is the queue depth autoscalers read (deploy/:
// KEDA's Prometheus trigger): requests admitted to nothing yet, so it only grows once
// every slot runs, and it does not count work a replica is already doing.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pipeline, StageBatch, StageStats } from '../runtime/contracts.js';
import { onClientGone } from './client-abort.js';
import { clientErrorAnswer } from './error-handling.js';
import { STATUS_CLIENT_CLOSED } from './errors.js';

const PREFIX = 'sgl_omni_';
export const METRICS_PATH = '/metrics';
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64];
/** Route label of requests that matched no route, so probes of random paths add one series, not many. */
const UNMATCHED_ROUTE = 'unmatched';
/** Published worker counters ending in this are milliseconds; they are shown in seconds. */
const MS_SUFFIX = '_ms';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'method' | 'route'>;
  private readonly batchSize: Histogram<'stage'>;
  private readonly batchSeconds: Histogram<'stage'>;
  private readonly queueWaitSeconds: Histogram<'stage'>;
  private readonly workerGauges = new Map<string, Gauge<'stage'>>();
  private readonly unsubscribe: () => void;
  private readonly byHandler = new Map<string, unknown>();

  private readonly pipelines: readonly Pipeline[];

  constructor(pipelines: readonly Pipeline[]) {
    this.pipelines = pipelines;
    const registers = [this.registry];
    this.requests = new Counter({ name: `${PREFIX}http_requests_total`, help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.requestSeconds = new Histogram({ name: `${PREFIX}http_request_duration_seconds`, help: 'Time from request start to the last byte of the answer', labelNames: ['method', 'route'], buckets: DURATION_BUCKETS_S, registers });
    this.batchSize = new Histogram({ name: `${PREFIX}stage_batch_size`, help: 'Items each stage ran together in one batch', labelNames: ['stage'], buckets: BATCH_SIZE_BUCKETS, registers });
    this.batchSeconds = new Histogram({ name: `${PREFIX}stage_batch_seconds`, help: 'Time each stage spent on one batch', labelNames: ['stage'], buckets: DURATION_BUCKETS_S, registers });
    this.queueWaitSeconds = new Histogram({ name: `${PREFIX}stage_queue_wait_seconds`, help: 'Time items waited in each stage queue', labelNames: ['stage'], buckets: DURATION_BUCKETS_S, registers });
    admissionGauge(pipelines, registers, 'waiting', 'Requests waiting for admission (every max_running slot busy): the queue depth to autoscale on');
    admissionGauge(pipelines, registers, 'running', 'Requests admitted and inside the pipeline');
    stageGauge(this, registers, 'queued', 'Items waiting in each stage queue');
    stageGauge(this, registers, 'running', 'Items being processed by each stage');
    stageGauge(this, registers, 'completed', 'Items each stage finished since start');
    stageGauge(this, registers, 'failed', 'Items each stage failed since start');
    const unsubscribes = pipelines.map((p) => p.onStageBatch?.((batch) => this.observeBatch({ ...batch, stage: this.stageLabel(p, batch.stage) })));
    this.unsubscribe = () => unsubscribes.forEach((off) => off?.());
  }

  /** The `stage` label of one pipeline's stage. */
  stageLabel(pipeline: Pipeline, stage: string): string {
    return this.pipelines.length > 1 ? `${pipeline.name}/${stage}` : stage;
  }

  /** Every pipeline's stage stats, labelled. */
  stageStats(): StageStats[] {
    return this.pipelines.flatMap((p) => p.stats().map((stats) => ({ ...stats, stage: this.stageLabel(p, stats.stage) })));
  }

  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method, route: route ?? UNMATCHED_ROUTE };
    this.requests.inc({ ...labels, status: String(status) });
    this.requestSeconds.observe(labels, seconds);
  }

  /** The metrics of one kind of route (made on first use, so two routes of a handler share them). */
  handlerMetrics<T>(key: string, make: (registry: Registry, prefix: string) => T): T {
    if (!this.byHandler.has(key)) this.byHandler.set(key, make(this.registry, PREFIX));
    return this.byHandler.get(key) as T;
  }

  /** The exposition text, with the workers' latest published counters (and only those: a counter
   *  no live worker publishes any more, a dead worker's say, is dropped, as stage gauges are). */
  async render(): Promise<string> {
    for (const gauge of this.workerGauges.values()) gauge.reset();
    for (const pipeline of this.pipelines) {
      for (const [stage, counters] of Object.entries(pipeline.stageMetrics?.() ?? {})) {
        for (const [name, value] of Object.entries(counters)) {
          const inMs = name.endsWith(MS_SUFFIX);
          this.workerGauge(inMs ? `${name.slice(0, -MS_SUFFIX.length)}_seconds` : name).set({ stage: this.stageLabel(pipeline, stage) }, inMs ? value / 1000 : value);
        }
      }
    }
    return this.registry.metrics();
  }

  /** Stops listening to the pipeline, which may outlive this server. */
  close(): void {
    this.unsubscribe();
  }

  private observeBatch({ stage, size, waitSeconds, seconds }: StageBatch): void {
    this.batchSize.observe({ stage }, size);
    this.batchSeconds.observe({ stage }, seconds);
    for (const wait of waitSeconds) this.queueWaitSeconds.observe({ stage }, wait);
  }

  private workerGauge(name: string): Gauge<'stage'> {
    const metricName = `${PREFIX}worker_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    let gauge = this.workerGauges.get(metricName);
    if (!gauge) {
      gauge = new Gauge({ name: metricName, help: `'${name}' as the stage's workers last published it (cumulative unless it is a current count)`, labelNames: ['stage'], registers: [this.registry] });
      this.workerGauges.set(metricName, gauge);
    }
    return gauge;
  }
}

/** sgl_omni_requests_<field>{pipeline}: one pipeline's admission counts, read at scrape time. */
function admissionGauge(pipelines: readonly Pipeline[], registers: Registry[], field: 'waiting' | 'running', help: string): void {
  new Gauge({
    name: `${PREFIX}requests_${field}`,
    help,
    labelNames: ['pipeline'],
    registers,
    collect() {
      this.reset();
      for (const p of pipelines) {
        const counts = p.admissionCounts?.();
        if (counts) this.set({ pipeline: p.name }, counts[field]);
      }
    },
  });
}

function stageGauge(metrics: ServerMetrics, registers: Registry[], field: keyof Omit<StageStats, 'stage'>, help: string): void {
  new Gauge({
    name: `${PREFIX}stage_${field}`,
    help,
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset();
      for (const stats of metrics.stageStats()) this.set({ stage: stats.stage }, stats[field]);
    },
  });
}

export interface MetricsOptions {
  metrics: ServerMetrics;
}

async function metricsPlugin(app: FastifyInstance, { metrics }: MetricsOptions): Promise<void> {
  // A request whose client left before its whole answer was written (mid-upload, mid-inference,
  // mid-stream) gets no onResponse: it is counted as 499 when its response closes unfinished,
  // unless the server itself answered on the socket (a timed-out upload's 408).
  const aborted = new WeakSet<object>();
  app.addHook('onRequest', async (request, reply) => {
    const started = performance.now();
    onClientGone(reply, () => {
      aborted.add(request);
      const status = clientErrorAnswer(request.raw.socket)?.status ?? STATUS_CLIENT_CLOSED;
      metrics.observeRequest(request.method, request.routeOptions.url, status, (performance.now() - started) / 1000);
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    if (aborted.has(request)) return;
    metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => metrics.close());
  app.get(METRICS_PATH, async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.render()));
}

export default fp(metricsPlugin, { name: 'sgl-omni-metrics', fastify: '5.x' });
