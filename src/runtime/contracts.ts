// The contracts every part of the project codes against. Stage plugins see only
// StagePlugin/StageInstance/ItemContext; the HTTP layer sees only Pipeline.
// Neither side knows what the other does with the payload.

/** A payload moving between stages. ArrayBuffers (and typed arrays' buffers)
 *  found anywhere inside are transferred between threads, not copied. */
export type Payload = Record<string, unknown>;

/** Per-item handle a stage uses while processing one request's item. */
export interface ItemContext {
  /** Request id, stable across stages. */
  readonly id: string;
  /** Sends a progress event (e.g. a text delta) to whoever submitted the request. */
  emit(event: Payload): void;
  /** True once the request was cancelled (client gone); stop work early. */
  readonly cancelled: boolean;
  /** Called once when the request is cancelled. */
  onCancel(cb: () => void): void;
  /** Writes a line about this item to the server's log, tagged with its request id (`reqId`, the
   *  HTTP request's) and the stage, so one request can be followed from its HTTP line through every
   *  stage's worker. Absent where a stage runs outside a pipeline. */
  log?(level: StageLogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** What a stage receives about where and how it runs. */
export interface StageEnv {
  stageName: string;
  /** 'cpu' or 'cuda:N'. */
  device: string;
  /** Intra-op threads the stage may use (onnxruntime intraOpNumThreads). */
  threads: number;
  /** The stage's `options:` from the pipeline YAML, valid against the plugin's options schema (its
   *  descriptor's; a bare module's optionsSchema) with the schema's defaults filled in: the stage
   *  reads them and keeps no defaults of its own. */
  options: Record<string, unknown>;
  /** Folder of the model being served (from --model-path, already resolved); '' for a pipeline
   *  none of whose stages declares `needs_model`. */
  modelPath: string;
  /** Folder for caches (converted graphs etc.). */
  cacheDir: string;
  /** Worker index within the stage's pool. */
  workerIndex: number;
  /** Publishes this worker's cumulative counters (replacing its previous ones); the pipeline sums
   *  them over the stage's workers in Pipeline.stageMetrics(). Absent where a stage runs outside a pipeline. */
  publishMetrics?(metrics: StageMetrics): void;
  /** Writes to the server's log, tagged with the stage and worker (long loads report progress
   *  here; a line about several items of a batch names them as `reqIds`, one about a single item
   *  goes through its ItemContext.log). Absent where a stage runs outside a pipeline. */
  log?(level: StageLogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export type StageLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Cumulative counters a stage keeps about its own work, by name (e.g. generated_tokens, decode_ms). */
export type StageMetrics = Record<string, number>;

/** Result of one item: either an output payload or an error for that item only. */
export type ItemResult = { ok: true; payload: Payload } | { ok: false; error: StageErrorInfo };

/**
 * What went wrong, in the pipeline's terms, with what each kind means; the server maps each
 * kind to its answer (src/server/errors.ts, docs/ERRORS.md). A stage says what happened,
 * never an HTTP status.
 */
export const ERROR_KINDS = {
  invalid_input: 'The request or its data is wrong (a field, the content of the upload).',
  unsupported_media: 'The upload is in a format nothing in the pipeline reads.',
  too_long: 'The input is longer than the configured limit.',
  cancelled: 'The client went away; nobody reads the answer.',
  overloaded: 'Too much work is waiting: retry after Retry-After.',
  rate_limited: 'This caller sent more than it may: retry after Retry-After.',
  unavailable: 'A stage cannot work (it failed to load, the server is stopping).',
  internal: 'A fault of the server or a plugin, not of the request.',
} as const;

export type ErrorKind = keyof typeof ERROR_KINDS;

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.hasOwn(ERROR_KINDS, value);
}

export interface StageErrorInfo {
  /** Machine code, e.g. 'ERR_AUDIO_DECODE'. */
  code: string;
  message: string;
  kind: ErrorKind;
  /** Request field the error concerns, when any (OpenAI `param`). */
  param?: string;
  /** Where an internal error was thrown, in the worker (the plugin's own stack), for the log. */
  stack?: string;
}

/** A running stage inside a worker thread. */
export interface StageInstance {
  /** Processes a batch (length ≤ batch.max_size). Results in the same order.
   *  May be called again before an earlier call resolved when the stage's
   *  `concurrency` > 1 (continuous batching stages rely on this). */
  process(items: { payload: Payload; ctx: ItemContext }[]): Promise<ItemResult[]>;
  dispose?(): Promise<void> | void;
}

/** The default export of a stage plugin module. */
export interface StagePlugin {
  /** Registry name used in YAML `plugin:` (modules can also be referenced by path). */
  name: string;
  /** JSON schema of `options:`, read only for a module named by path without a descriptor; a
   *  described plugin's schema is its *.plugin.yaml `options` (config never imports the module). */
  optionsSchema?: object;
  create(env: StageEnv): Promise<StageInstance> | StageInstance;
}

/** Thrown by stages for per-item failures; carried across threads as StageErrorInfo. */
export class StageError extends Error {
  constructor(readonly code: string, message: string, readonly kind: ErrorKind = 'invalid_input', readonly param?: string) {
    super(message);
  }

  toInfo(): StageErrorInfo {
    const info: StageErrorInfo = { code: this.code, message: this.message, kind: this.kind, param: this.param };
    if (this.kind === 'internal' && this.stack) info.stack = this.stack;
    return info;
  }
}

export interface SubmitOptions {
  /** Request id shown to stages as ItemContext.id (e.g. the HTTP request id); generated when absent. */
  id?: string;
  /** Aborting cancels queued and running work for this request. */
  signal?: AbortSignal;
  /** Receives events emitted by stages (ItemContext.emit). */
  onEvent?: (event: Payload) => void;
}

/** One route a pipeline serves: its path and the API handler module that maps requests onto the pipeline. */
export interface PipelineRoute {
  /** e.g. /v1/audio/features. */
  readonly path: string;
  /** The handler's name (its *.handler.yaml). */
  readonly handler: string;
  /** Absolute path of the handler's JavaScript module, whose default export mounts the route. */
  readonly module: string;
}

/** The entry point the HTTP router drives. */
export interface Pipeline {
  readonly name: string;
  /** The routes the pipeline's YAML declares; the server mounts exactly these. */
  readonly routes: readonly PipelineRoute[];
  /** Per-request fields the stages read from payload.params (their descriptors' `request:`), each a
   *  JSON schema: a handler passes on only these. Absent when a stage has no descriptor (unknown needs). */
  readonly requestFields?: Readonly<Record<string, object>>;
  /** Resolves when every stage has loaded; rejects with the load error. */
  ready(): Promise<void>;
  health(): { ready: boolean; reason?: string };
  /** Runs one request through the graph. Rejects with PipelineError. */
  submit(input: Payload, opts?: SubmitOptions): Promise<Payload>;
  /** Queue depth etc. per stage, for metrics. */
  stats(): StageStats[];
  /** Requests inside the graph and waiting to enter it (admission), for metrics. */
  admissionCounts?(): { running: number; waiting: number };
  /** Its admission limits (max_running, max_waiting): readiness fails while the waiting room is full. */
  admissionLimits?(): { maxRunning: number; maxWaiting: number };
  /** Counters stages published about their own work (StageEnv.publishMetrics), by stage name. */
  stageMetrics?(): Record<string, StageMetrics>;
  /** Calls `listener` after each batch any stage finishes (for metrics); returns the unsubscribe. */
  onStageBatch?(listener: (batch: StageBatch) => void): () => void;
  /** Fails waiting requests, lets running ones finish within the drain time, then stops the workers. */
  close(opts?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  /** Replaces the pipeline's drain_timeout_s; 0 fails every open request now (a forced shutdown).
   *  A call during a close already under way can shorten its drain. */
  drainTimeoutMs?: number;
}

/** One batch a stage ran, whatever its items' outcome. */
export interface StageBatch {
  stage: string;
  /** Items in the batch. */
  size: number;
  /** Seconds each item waited in the stage queue before the batch started. */
  waitSeconds: number[];
  /** Seconds from handing the batch to a worker to the worker finishing it. */
  seconds: number;
}

export interface StageStats {
  stage: string;
  queued: number;
  running: number;
  completed: number;
  failed: number;
}

/** Rejection of Pipeline.submit: per-item stage errors, overload and internal faults, by kind. */
export class PipelineError extends Error {
  constructor(readonly code: string, message: string, readonly kind: ErrorKind, readonly param?: string, readonly retryAfterS?: number) {
    super(message);
  }
}
