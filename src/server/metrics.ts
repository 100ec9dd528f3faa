// Prometheus metrics of one server instance, in its own registry (never the
// global one, so several servers in one process stay apart). Stage gauges are
// read from pipeline.stats() at scrape time.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Pipeline, StageStats } from '../runtime/contracts.js';

const PREFIX = 'sgl_omni_';
const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const RTF_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];
/** Route label of requests that matched no route, so probes of random paths add one series, not many. */
const UNMATCHED_ROUTE = 'unmatched';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'method' | 'route'>;
  private readonly audioSeconds: Counter;
  private readonly rtf: Histogram;

  constructor(pipeline: Pipeline) {
    const registers = [this.registry];
    this.requests = new Counter({ name: `${PREFIX}http_requests_total`, help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.requestSeconds = new Histogram({ name: `${PREFIX}http_request_duration_seconds`, help: 'Time from request start to the last byte of the answer', labelNames: ['method', 'route'], buckets: DURATION_BUCKETS_S, registers });
    this.audioSeconds = new Counter({ name: `${PREFIX}audio_seconds_processed_total`, help: 'Seconds of audio transcribed successfully', registers });
    this.rtf = new Histogram({ name: `${PREFIX}transcription_rtf`, help: 'Real-time factor of successful transcriptions (processing time / audio duration)', buckets: RTF_BUCKETS, registers });
    stageGauge(pipeline, registers, 'queued', 'Items waiting in each stage queue');
    stageGauge(pipeline, registers, 'running', 'Items being processed by each stage');
    stageGauge(pipeline, registers, 'completed', 'Items each stage finished since start');
    stageGauge(pipeline, registers, 'failed', 'Items each stage failed since start');
  }

  observeRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method, route: route ?? UNMATCHED_ROUTE };
    this.requests.inc({ ...labels, status: String(status) });
    this.requestSeconds.observe(labels, seconds);
  }

  observeTranscription(audioSeconds: number, processingSeconds: number): void {
    this.audioSeconds.inc(audioSeconds);
    if (audioSeconds > 0) this.rtf.observe(processingSeconds / audioSeconds);
  }
}

function stageGauge(pipeline: Pipeline, registers: Registry[], field: keyof Omit<StageStats, 'stage'>, help: string): void {
  new Gauge({
    name: `${PREFIX}stage_${field}`,
    help,
    labelNames: ['stage'],
    registers,
    collect() {
      this.reset();
      for (const stats of pipeline.stats()) this.set({ stage: stats.stage }, stats[field]);
    },
  });
}

export interface MetricsOptions {
  metrics: ServerMetrics;
}

async function metricsPlugin(app: FastifyInstance, { metrics }: MetricsOptions): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}

export default fp(metricsPlugin, { name: 'sgl-omni-metrics', fastify: '5.x' });
