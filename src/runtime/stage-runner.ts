// One stage on the main thread: a bounded queue in front of a piscina pool.
// The dispatcher hands each free task slot up to batch.max_size waiting items
// (never waiting for more), moves payloads with transfer lists, relays events
// and cancels over a per-task MessageChannel, and turns a dead worker into
// 500s for that worker's items only (piscina starts a replacement).
import { BroadcastChannel, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import v8 from 'node:v8';
import { Piscina } from 'piscina';
import type { ResolvedStage } from '../config/types.js';
import { PipelineError, type ItemResult, type Payload, type StageBatch, type StageMetrics, type StageStats } from './contracts.js';
import { cancelledError, ERR_QUEUE_FULL, ERR_STAGE_CRASHED, ERR_STAGE_FAILED, ERR_STAGE_UNAVAILABLE, fromErrorInfo, runtimeError, runtimeErrorInfo, shuttingDownError } from './errors.js';
import type { Logger } from './logger.js';
import { isWorkerStatus, type CancelMessage, type DisposeMessage, type StageTask, type StageWorkerData, type TaskMessage, type WorkerStatus } from './protocol.js';
import { collectTransferables } from './transfer.js';
import { workerExecArgv } from './worker-exec-argv.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker-entry.js', import.meta.url));
/** How long close waits for workers to end their batches and loads: a model load can take tens of seconds. */
const DISPOSE_TIMEOUT_MS = 120_000;

export interface StageItem {
  id: string;
  payload: Payload;
  signal?: AbortSignal;
  onEvent?: (event: Payload) => void;
}

interface PendingItem extends StageItem {
  resolve(payload: Payload): void;
  reject(err: PipelineError): void;
  settled: boolean;
  task?: RunningTask;
  detach(): void;
  /** performance.now() when it entered the queue. */
  queuedAt: number;
}

interface RunningTask {
  items: PendingItem[];
  port: MessagePort;
  resultsSeen: boolean;
  startedAt: number;
}

export interface StageRunnerOptions {
  modelPath: string;
  cacheDir: string;
  logger: Logger;
  retryAfterS: number;
  onBatch?(batch: StageBatch): void;
}

type LoadState = { kind: 'loading' } | { kind: 'ready' } | { kind: 'failed'; reason: string };

export class StageRunner {
  readonly name: string;
  private readonly pool: Piscina;
  private readonly control: BroadcastChannel;
  private readonly queue: PendingItem[] = [];
  private readonly tasks = new Set<RunningTask>();
  private readonly capacity: number;
  /** Thread ids of workers that created their instance, that disposed. */
  private readonly readyWorkers = new Set<number>();
  private readonly disposedWorkers = new Set<number>();
  /** Latest counters each worker published, by thread id. */
  private readonly workerMetrics = new Map<number, StageMetrics>();
  private state: LoadState = { kind: 'loading' };
  private readonly loaded: Promise<void>;
  private settleLoad!: (err?: Error) => void;
  private readonly stopFlag: Int32Array;
  private onAllDisposed?: () => void;
  private pumpScheduled = false;
  private closed = false;
  private runningItems = 0;
  private completed = 0;
  private failed = 0;

  constructor(private readonly stage: ResolvedStage, private readonly opts: StageRunnerOptions) {
    this.name = stage.name;
    this.capacity = stage.workers * stage.concurrency;
    // piscina unrefs idle workers; loading must still keep the process alive.
    const keepAlive = setInterval(() => {}, 60_000);
    this.loaded = new Promise<void>((resolve, reject) => {
      this.settleLoad = (err) => {
        clearInterval(keepAlive);
        if (err) reject(err);
        else resolve();
      };
    });
    this.loaded.catch(() => {}); // observed through ready()/health()
    const workerData: StageWorkerData = {
      stageName: stage.name,
      module: stage.module,
      device: stage.device,
      threads: stage.threads,
      options: stage.options,
      modelPath: opts.modelPath,
      cacheDir: opts.cacheDir,
      workers: stage.workers,
      workerCounter: new SharedArrayBuffer(4),
      controlChannel: `sgl-omni:${stage.name}:${randomUUID()}`,
      stopFlag: new SharedArrayBuffer(4),
    };
    // Native libraries in the workers read the process environment, which only the main thread
    // can set: onnxruntime 1.30 (Linux) sends usage telemetry to mobile.events.data.microsoft.com
    // unless ORT_DISABLE_TELEMETRY is set (issue 11 attacker re-test F7: DNS lookups during
    // requests, found with strace). A server with a local model must not call out.
    process.env.ORT_DISABLE_TELEMETRY ??= '1';
    // Workers collect the buffers they dropped once idle (idle-gc.ts: V8 alone keeps them while a
    // worker waits; 2 x 1000 s uploads left 280 MB of them). Contexts created after this flag, the
    // workers', get gc(); the main thread's does not.
    v8.setFlagsFromString('--expose-gc');
    this.stopFlag = new Int32Array(workerData.stopFlag);
    this.control = new BroadcastChannel(workerData.controlChannel);
    this.control.unref();
    this.pool = new Piscina({
      filename: WORKER_ENTRY,
      minThreads: stage.workers,
      maxThreads: stage.workers,
      concurrentTasksPerWorker: stage.concurrency,
      // Workers keep their event loop free between tasks: continuous-batching
      // stages run timers and cancels arrive on ports.
      atomics: 'disabled',
      resourceLimits: { maxOldGenerationSizeMb: stage.max_heap_mb },
      niceIncrement: stage.nice,
      // Workers run compiled JavaScript: loader hooks of the parent (test
      // runners, TypeScript loaders) would only slow every worker's start.
      execArgv: workerExecArgv(),
      workerData,
    });
    this.pool.on('message', (m: unknown) => {
      if (isWorkerStatus(m)) this.onWorkerStatus(m);
    });
    // Without a listener piscina's 'error' (a worker dying while idle) would crash the server.
    this.pool.on('error', (err: Error) => this.opts.logger.error({ stage: this.name, err }, 'stage worker died'));
  }

  ready(): Promise<void> {
    return this.loaded;
  }

  health(): { ready: boolean; reason?: string } {
    if (this.state.kind === 'ready') return { ready: true };
    if (this.state.kind === 'failed') return { ready: false, reason: this.state.reason };
    return { ready: false, reason: `stage ${this.name}: ${this.readyWorkers.size}/${this.stage.workers} workers loaded` };
  }

  /** Why the stage cannot serve at all (it failed to load), if so. */
  loadFailure(): PipelineError | undefined {
    return this.state.kind === 'failed' ? this.unavailableError() : undefined;
  }

  stats(): StageStats {
    return { stage: this.name, queued: this.queue.length, running: this.runningItems, completed: this.completed, failed: this.failed };
  }

  /** The counters the stage's live workers published, summed over workers. */
  metrics(): StageMetrics {
    // A dead worker's counters leave the sums (its current counts would otherwise stay for ever).
    const live = new Set(this.pool.threads.map((w) => w.threadId));
    for (const threadId of this.workerMetrics.keys()) if (!live.has(threadId)) this.workerMetrics.delete(threadId);
    const sum: StageMetrics = {};
    for (const metrics of this.workerMetrics.values()) for (const [name, value] of Object.entries(metrics)) sum[name] = (sum[name] ?? 0) + value;
    return sum;
  }

  /** Runs one item through this stage. Rejects with PipelineError (503 when the queue is full). */
  process(item: StageItem): Promise<Payload> {
    if (this.closed) return Promise.reject(shuttingDownError());
    if (this.state.kind === 'failed') return Promise.reject(this.unavailableError());
    if (item.signal?.aborted) return Promise.reject(cancelledError());
    if (this.queue.length >= this.stage.queue.max) {
      return Promise.reject(runtimeError(ERR_QUEUE_FULL, `stage ${this.name} queue is full (${this.stage.queue.max} waiting)`, this.opts.retryAfterS));
    }
    return new Promise<Payload>((resolve, reject) => {
      const onAbort = () => this.cancel(pending);
      const pending: PendingItem = {
        ...item,
        settled: false,
        queuedAt: performance.now(),
        resolve,
        reject,
        detach: () => item.signal?.removeEventListener('abort', onAbort),
      };
      item.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      this.schedulePump();
    });
  }

  /**
   * Fails queued and running items, lets every worker (loading ones included) end its batches and
   * dispose, then stops the workers. A worker is only terminated once it said it is idle, or after
   * disposeTimeoutMs (a stage stuck in its own JavaScript); one still inside onnxruntime or a module
   * load would take the process down with it.
   */
  async close(disposeTimeoutMs = DISPOSE_TIMEOUT_MS): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Idle (unref'd) workers do not keep the process alive: without this, a process with nothing
    // else to do could exit in the middle of the close its caller awaits.
    const keepAlive = setInterval(() => {}, 60_000);
    try {
      if (this.state.kind === 'loading') this.settleLoad(shuttingDownError()); // also ends the loading keep-alive
      for (const item of this.queue.splice(0)) this.reject(item, shuttingDownError());
      for (const task of this.tasks) for (const item of task.items) this.reject(item, shuttingDownError());
      Atomics.store(this.stopFlag, 0, 1);
      if (this.disposeAcksPending() > 0) {
        let timer: NodeJS.Timeout | undefined;
        const disposed = new Promise<boolean>((resolve) => {
          this.onAllDisposed = () => resolve(true);
          timer = setTimeout(() => resolve(false), disposeTimeoutMs);
        });
        // A worker that died while we wait will not answer; its replacement sees the stop flag.
        const recheck = () => this.disposeAcksPending() === 0 && this.onAllDisposed?.();
        this.pool.on('workerDestroy', recheck);
        this.control.postMessage({ type: 'dispose' } satisfies DisposeMessage);
        if (!(await disposed)) this.opts.logger.warn({ stage: this.name, workers: this.disposeAcksPending(), timeoutMs: disposeTimeoutMs }, 'stage workers did not stop in time; terminating them');
        this.pool.off('workerDestroy', recheck);
        clearTimeout(timer);
      }
      this.control.close();
      await this.pool.destroy();
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** Live workers that have not yet said they disposed (starting and loading ones included). */
  private disposeAcksPending(): number {
    return this.pool.threads.filter((w) => !this.disposedWorkers.has(w.threadId)).length;
  }

  private onWorkerStatus(status: WorkerStatus): void {
    if (status.type === 'sgl-omni:metrics') {
      this.workerMetrics.set(status.threadId, status.metrics);
      return;
    }
    if (status.type === 'sgl-omni:log') {
      this.opts.logger[status.level]({ ...status.fields, stage: this.name, threadId: status.threadId }, status.msg);
      return;
    }
    if (status.type === 'sgl-omni:ready') {
      this.readyWorkers.add(status.threadId);
      if (this.state.kind === 'loading' && this.readyWorkers.size >= this.stage.workers) {
        this.state = { kind: 'ready' };
        this.opts.logger.info({ stage: this.name, workers: this.stage.workers }, 'stage ready');
        this.settleLoad();
      }
    } else if (status.type === 'sgl-omni:load-failed') {
      const reason = status.message;
      this.opts.logger.error({ stage: this.name, threadId: status.threadId }, reason);
      if (this.state.kind === 'failed') return;
      this.state = { kind: 'failed', reason };
      this.settleLoad(runtimeError(ERR_STAGE_UNAVAILABLE, reason));
      for (const item of this.queue.splice(0)) this.reject(item, this.unavailableError());
    } else {
      this.disposedWorkers.add(status.threadId);
      if (this.disposeAcksPending() === 0) this.onAllDisposed?.();
    }
  }

  private unavailableError(): PipelineError {
    return runtimeError(ERR_STAGE_UNAVAILABLE, this.state.kind === 'failed' ? this.state.reason : `stage ${this.name} is unavailable`);
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    // Deferred a microtask so items arriving in the same tick share a batch.
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.queue.length > 0 && this.tasks.size < this.capacity) {
      this.runTask(this.queue.splice(0, this.stage.batch.max_size));
    }
  }

  private runTask(items: PendingItem[]): void {
    const { port1, port2 } = new MessageChannel();
    const task: RunningTask = { items, port: port1, resultsSeen: false, startedAt: performance.now() };
    this.tasks.add(task);
    this.runningItems += items.length;
    for (const item of items) item.task = task;
    port1.on('message', (m: TaskMessage) => this.onTaskMessage(task, m));
    const input: StageTask = { port: port2, items: items.map((item) => ({ id: item.id, payload: item.payload })) };
    const transferList = [port2, ...collectTransferables(input.items)];
    for (const item of items) item.payload = {}; // moved to the worker; drop the detached husk
    this.pool.run(input, { transferList }).then(
      () => this.finishTask(task),
      (err: Error) => this.finishTask(task, err),
    );
  }

  private onTaskMessage(task: RunningTask, m: TaskMessage): void {
    if (m.type === 'event') {
      const item = task.items[m.index];
      if (!item || item.settled) return;
      try {
        item.onEvent?.(m.event);
      } catch (err) {
        this.opts.logger.warn({ stage: this.name, reqId: item.id, err }, 'event listener threw');
      }
    } else {
      task.resultsSeen = true;
      task.items.forEach((item, i) => this.settle(item, m.results[i]));
    }
  }

  private finishTask(task: RunningTask, crash?: Error): void {
    // Events and results posted before the task ended are already queued on the port.
    for (let m = receiveMessageOnPort(task.port); m; m = receiveMessageOnPort(task.port)) this.onTaskMessage(task, m.message as TaskMessage);
    task.port.close();
    if (!task.resultsSeen) {
      const error = !crash
        ? runtimeErrorInfo(ERR_STAGE_FAILED, `stage ${this.name} ended a task without results`)
        : crash.name === 'DataCloneError'
          ? runtimeErrorInfo(ERR_STAGE_FAILED, `a payload for stage ${this.name} cannot cross threads: ${crash.message}`)
          : runtimeErrorInfo(ERR_STAGE_CRASHED, `stage ${this.name} worker crashed: ${crash.message}`);
      if (crash) this.opts.logger.error({ stage: this.name, err: crash, reqIds: task.items.map((item) => item.id) }, 'stage task failed');
      for (const item of task.items) this.settle(item, { ok: false, error });
    }
    this.tasks.delete(task);
    this.runningItems -= task.items.length;
    this.opts.onBatch?.({
      stage: this.name,
      size: task.items.length,
      waitSeconds: task.items.map((item) => (task.startedAt - item.queuedAt) / 1000),
      seconds: (performance.now() - task.startedAt) / 1000,
    });
    this.schedulePump();
  }

  private cancel(item: PendingItem): void {
    if (item.settled) return;
    const queued = this.queue.indexOf(item);
    if (queued >= 0) this.queue.splice(queued, 1);
    else item.task?.port.postMessage({ type: 'cancel', index: item.task.items.indexOf(item) } satisfies CancelMessage);
    this.reject(item, cancelledError());
  }

  private settle(item: PendingItem, result: ItemResult | undefined): void {
    if (item.settled) return;
    if (result?.ok) {
      this.completed++;
      item.settled = true;
      item.detach();
      item.resolve(result.payload);
    } else {
      this.failed++;
      this.reject(item, fromErrorInfo(result?.error ?? runtimeErrorInfo(ERR_STAGE_FAILED, `stage ${this.name} returned no result`)));
    }
  }

  private reject(item: PendingItem, err: PipelineError): void {
    if (item.settled) return;
    item.settled = true;
    item.detach();
    item.reject(err);
  }
}
