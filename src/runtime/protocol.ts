// Messages between the main thread's stage runners and the generic worker entry.
import type { MessagePort } from 'node:worker_threads';
import type { ItemResult, Payload, StageLogLevel, StageMetrics } from './contracts.js';

/** piscina workerData: everything a worker needs to create its stage instance. */
export interface StageWorkerData {
  stageName: string;
  /** Absolute path of the plugin's JavaScript module. */
  module: string;
  device: string;
  threads: number;
  options: Record<string, unknown>;
  modelPath: string;
  cacheDir: string;
  workers: number;
  /** Int32Array[1] counter from which each new worker takes its index. */
  workerCounter: SharedArrayBuffer;
  /** BroadcastChannel name on which the stage asks its workers to dispose. */
  controlChannel: string;
  /** Int32Array[1], set to 1 before the dispose broadcast: a worker starting after it disposes at once. */
  stopFlag: SharedArrayBuffer;
}

/** One piscina task: a batch plus the port that carries its events, cancels and results. */
export interface StageTask {
  port: MessagePort;
  items: { id: string; payload: Payload }[];
}

/** Worker → main over the task port. Results come last, after every event of the batch.
 *  Items are named by their index in the batch (request ids need not be unique). */
export type TaskMessage =
  | { type: 'event'; index: number; event: Payload }
  | { type: 'result'; results: ItemResult[] };

/** Main → worker over the task port. */
export interface CancelMessage {
  type: 'cancel';
  index: number;
}

/** Worker → main over piscina's parent port (the pool's 'message' event); threadId names the worker. */
export type WorkerStatus =
  | { type: 'sgl-omni:ready'; threadId: number }
  /** message: "stage <name> failed to load: <why>". */
  | { type: 'sgl-omni:load-failed'; threadId: number; message: string }
  | { type: 'sgl-omni:disposed'; threadId: number }
  | { type: 'sgl-omni:metrics'; threadId: number; metrics: StageMetrics }
  | { type: 'sgl-omni:log'; threadId: number; level: StageLogLevel; msg: string; fields: Record<string, unknown> };

export function isWorkerStatus(m: unknown): m is WorkerStatus {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('sgl-omni:');
}

/** Main → workers over the control BroadcastChannel. */
export interface DisposeMessage {
  type: 'dispose';
}
