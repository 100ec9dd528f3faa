// The module every stage worker runs (piscina `filename`). It imports the plugin
// named in workerData, creates one instance as soon as the worker starts (so a
// pipeline is ready before its first request), then serves batches. Results and
// events go back over each task's own MessagePort; errors stay per item.
// Asked to dispose, it cancels its batches, waits until they and its load have
// ended, releases the instance and says so: only then may the thread be
// terminated (terminating it inside onnxruntime's run or a module load aborts
// the whole process: "terminate called after throwing an instance of
// 'Napi::Error'", "FATAL ERROR: v8::Module::IsGraphAsync").
import { BroadcastChannel, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { ItemContext, ItemResult, Payload, StageEnv, StageInstance, StageLogLevel, StagePlugin } from './contracts.js';
import { ERR_SHUTTING_DOWN, ERR_STAGE_FAILED, ERR_STAGE_UNAVAILABLE, runtimeErrorInfo, toErrorInfo } from './errors.js';
import type { CancelMessage, DisposeMessage, StageTask, StageWorkerData, TaskMessage, WorkerStatus } from './protocol.js';
import { IdleCollector } from './idle-gc.js';
import { collectTransferables } from './transfer.js';

const data = workerData as StageWorkerData;
// Replacement workers wrap around, so indices stay within the pool size.
const workerIndex = Atomics.add(new Int32Array(data.workerCounter), 0, 1) % data.workers;

function report(status: WorkerStatus): void {
  parentPort?.postMessage(status);
}

/** Why the instance could not be created, for the items that still reach this worker. */
let loadFailure = '';

async function createInstance(): Promise<StageInstance | undefined> {
  try {
    const mod = (await import(pathToFileURL(data.module).href)) as { default: StagePlugin };
    const env: StageEnv = {
      stageName: data.stageName,
      device: data.device,
      threads: data.threads,
      options: data.options,
      modelPath: data.modelPath,
      cacheDir: data.cacheDir,
      workerIndex,
      publishMetrics: (metrics) => report({ type: 'sgl-omni:metrics', threadId, metrics }),
      log: (level, msg, fields = {}) => report({ type: 'sgl-omni:log', threadId, level, msg, fields }),
    };
    const instance = await mod.default.create(env);
    report({ type: 'sgl-omni:ready', threadId });
    return instance;
  } catch (err) {
    loadFailure = `stage ${data.stageName} failed to load: ${err instanceof Error ? err.message : String(err)}`;
    report({ type: 'sgl-omni:load-failed', threadId, message: loadFailure });
    return undefined;
  }
}

// Subscribed before the stop flag is read, and the stage sets the flag before it broadcasts:
// a worker either sees the flag or receives the message, whenever it starts.
const control = new BroadcastChannel(data.controlChannel);
control.unref();
const stopFlag = new Int32Array(data.stopFlag);
/** Batches being processed, with the contexts a dispose cancels. */
const running = new Map<Promise<unknown>, WorkerItemContext[]>();
let disposing: Promise<void> | undefined;
/** Frees the buffers finished batches dropped once the worker goes idle (idle-gc.ts; gc exposed by the stage runner). */
const idleCollector = new IdleCollector((globalThis as { gc?: () => void }).gc);

const instanceReady = Atomics.load(stopFlag, 0) ? Promise.resolve(undefined) : createInstance();

function dispose(): Promise<void> {
  disposing ??= (async () => {
    for (const contexts of running.values()) for (const ctx of contexts) ctx.cancel();
    const instance = await instanceReady;
    await Promise.allSettled(running.keys());
    try {
      await instance?.dispose?.();
    } finally {
      report({ type: 'sgl-omni:disposed', threadId });
    }
  })();
  return disposing;
}

control.onmessage = (event: unknown) => {
  if ((event as { data?: DisposeMessage }).data?.type === 'dispose') void dispose();
};
if (Atomics.load(stopFlag, 0)) void dispose();

class WorkerItemContext implements ItemContext {
  cancelled = false;
  private readonly cancelCallbacks: (() => void)[] = [];

  constructor(readonly id: string, private readonly index: number, private readonly port: MessagePort) {}

  emit(event: Payload): void {
    if (this.cancelled) return;
    const message: TaskMessage = { type: 'event', index: this.index, event };
    this.port.postMessage(message, collectTransferables(event));
  }

  onCancel(cb: () => void): void {
    if (this.cancelled) queueMicrotask(cb);
    else this.cancelCallbacks.push(cb);
  }

  log(level: StageLogLevel, msg: string, fields: Record<string, unknown> = {}): void {
    report({ type: 'sgl-omni:log', threadId, level, msg, fields: { ...fields, reqId: this.id } });
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    for (const cb of this.cancelCallbacks.splice(0)) cb();
  }
}

function failAll(count: number, code: string, message: string): ItemResult[] {
  const error = runtimeErrorInfo(code, message);
  return Array.from({ length: count }, () => ({ ok: false as const, error }));
}

async function processBatch(instance: StageInstance, task: StageTask, contexts: WorkerItemContext[]): Promise<ItemResult[]> {
  try {
    const results = await instance.process(task.items.map((item, i) => ({ payload: item.payload, ctx: contexts[i] })));
    if (!Array.isArray(results) || results.length !== task.items.length) {
      return failAll(task.items.length, ERR_STAGE_FAILED, `stage ${data.stageName} returned ${Array.isArray(results) ? results.length : typeof results} results for ${task.items.length} items`);
    }
    // Errors cross the thread as plain StageErrorInfo, whatever the stage put there.
    return results.map((r) => (r.ok ? r : { ok: false as const, error: toErrorInfo(r.error, data.stageName) }));
  } catch (err) {
    // A throw from process() concerns the whole batch.
    const error = toErrorInfo(err, data.stageName);
    return task.items.map(() => ({ ok: false as const, error }));
  }
}

export default async function runTask(task: StageTask): Promise<void> {
  idleCollector.busy();
  const contexts = task.items.map((item, index) => new WorkerItemContext(item.id, index, task.port));
  task.port.on('message', (m: CancelMessage) => {
    if (m.type === 'cancel') contexts[m.index]?.cancel();
  });
  const instance = await instanceReady;
  let results: ItemResult[];
  if (disposing) results = failAll(task.items.length, ERR_SHUTTING_DOWN, 'server is shutting down');
  else if (!instance) results = failAll(task.items.length, ERR_STAGE_UNAVAILABLE, loadFailure);
  else {
    const batch = processBatch(instance, task, contexts);
    running.set(batch, contexts);
    results = await batch.finally(() => running.delete(batch));
  }
  const message: TaskMessage = { type: 'result', results };
  task.port.postMessage(message, collectTransferables(results));
  // The main thread closes the port once it has drained it.
  task.port.unref();
  if (running.size === 0) idleCollector.idle();
}
