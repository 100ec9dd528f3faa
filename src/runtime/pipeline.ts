// createPipeline: turns a resolved config into a running Pipeline (contracts.ts):
// one StageRunner per stage, requests admitted at the pipeline level and walked
// along the stage chain, payloads moving between workers without copies.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { ResolvedPipelineConfig } from '../config/types.js';
import type { CloseOptions, Payload, Pipeline, PipelineRoute, StageBatch, StageMetrics, StageStats, SubmitOptions } from './contracts.js';
import { Admission } from './admission.js';
import { shuttingDownError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { StageRunner } from './stage-runner.js';

export interface CreatePipelineOptions {
  /** Folder of the model being served (already resolved); absent for a pipeline without model stages. */
  modelPath?: string;
  /** Folder for caches (converted graphs etc.); defaults to ~/.cache/sgl-omni. */
  cacheDir?: string;
  logger?: Logger;
}

export function createPipeline(resolved: ResolvedPipelineConfig, opts: CreatePipelineOptions = {}): Pipeline {
  if (resolved.needsModel && !opts.modelPath) {
    const stages = resolved.stages.filter((s) => s.needsModel).map((s) => s.name);
    throw Object.assign(new Error(`pipeline ${resolved.config.name} (${resolved.file}) needs a model for stage(s) ${stages.join(', ')}: give --model-path`), { code: 'ERR_MODEL_PATH_REQUIRED' });
  }
  return new StagePipeline(resolved, opts);
}

class StagePipeline implements Pipeline {
  readonly name: string;
  readonly routes: readonly PipelineRoute[];
  readonly requestFields?: Readonly<Record<string, object>>;
  private readonly stages: StageRunner[];
  private readonly admission: Admission;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly batchListeners = new Set<(batch: StageBatch) => void>();
  private readonly logger: Logger;
  private readonly loaded: Promise<void>;
  private closing?: Promise<void>;
  /** Ends the drain of a close under way at once. */
  private endDrain?: () => void;

  constructor(private readonly resolved: ResolvedPipelineConfig, opts: CreatePipelineOptions) {
    const { config } = resolved;
    this.name = config.name;
    this.routes = resolved.routes.map(({ path, handler, module }) => ({ path, handler, module }));
    if (resolved.stages.every((s) => s.descriptor)) this.requestFields = resolved.request;
    this.logger = opts.logger ?? silentLogger;
    this.admission = new Admission(config.admission);
    const runnerOpts = {
      modelPath: opts.modelPath ?? '',
      cacheDir: opts.cacheDir ?? path.join(os.homedir(), '.cache', 'sgl-omni'),
      logger: this.logger,
      retryAfterS: config.admission.retry_after_s,
      onBatch: (batch: StageBatch) => {
        for (const listener of this.batchListeners) listener(batch);
      },
    };
    this.stages = resolved.stages.map((stage) => new StageRunner(stage, runnerOpts));
    this.loaded = Promise.all(this.stages.map((s) => s.ready())).then(() => {
      this.logger.info({ pipeline: this.name, stages: this.stages.map((s) => s.name) }, 'pipeline ready');
    });
    this.loaded.catch(() => {}); // observed through ready()/health()
  }

  ready(): Promise<void> {
    return this.loaded;
  }

  health(): { ready: boolean; reason?: string } {
    if (this.closing) return { ready: false, reason: 'shutting down' };
    const problems = this.stages.map((s) => s.health()).filter((h) => !h.ready);
    return problems.length === 0 ? { ready: true } : { ready: false, reason: problems.map((h) => h.reason).join('; ') };
  }

  submit(input: Payload, opts: SubmitOptions = {}): Promise<Payload> {
    if (this.closing) return Promise.reject(shuttingDownError());
    // A stage that failed to load would fail the request later anyway, after earlier stages' work.
    const unavailable = this.stages.map((s) => s.loadFailure()).find((e) => e);
    if (unavailable) return Promise.reject(unavailable);
    const run = this.run(input, opts);
    this.inFlight.add(run);
    const forget = () => this.inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  private async run(input: Payload, opts: SubmitOptions): Promise<Payload> {
    const id = opts.id ?? randomUUID();
    const release = await this.admission.acquire(opts.signal);
    try {
      let payload = input;
      for (const stage of this.stages) {
        payload = await stage.process({ id, payload, signal: opts.signal, onEvent: opts.onEvent });
      }
      return payload;
    } finally {
      release();
    }
  }

  onStageBatch(listener: (batch: StageBatch) => void): () => void {
    this.batchListeners.add(listener);
    return () => this.batchListeners.delete(listener);
  }

  stats(): StageStats[] {
    return this.stages.map((s) => s.stats());
  }

  admissionCounts(): { running: number; waiting: number } {
    return this.admission.counts;
  }

  admissionLimits(): { maxRunning: number; maxWaiting: number } {
    const { max_running, max_waiting } = this.resolved.config.admission;
    return { maxRunning: max_running, maxWaiting: max_waiting };
  }

  stageMetrics(): Record<string, StageMetrics> {
    return Object.fromEntries(this.stages.map((s) => [s.name, s.metrics()]));
  }

  close(opts: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutdown();
    const timer = setTimeout(() => this.endDrain?.(), opts.drainTimeoutMs ?? this.resolved.config.drain_timeout_s * 1000);
    const clear = () => clearTimeout(timer);
    this.closing.then(clear, clear);
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.admission.rejectWaiting(shuttingDownError());
    const drained = Promise.allSettled([...this.inFlight]).then(() => 'drained' as const);
    const deadline = new Promise<'deadline'>((resolve) => (this.endDrain = () => resolve('deadline')));
    const outcome = await Promise.race([drained, deadline]);
    if (outcome === 'deadline' && this.inFlight.size > 0) this.logger.warn({ pipeline: this.name, inFlight: this.inFlight.size }, 'drain deadline passed; failing remaining requests');
    await Promise.all(this.stages.map((s) => s.close()));
  }
}
