// Sends a dataset at a fixed concurrency: N workers, each sending its next
// clip as soon as its previous response is in (closed loop, like sglang-omni's
// CI). Warm-up requests go first at the same concurrency and are not recorded.
import { performance } from 'node:perf_hooks';
import type { RequestOutcome } from './client.js';
import type { DatasetItem } from './manifest.js';

export interface RequestRecord extends RequestOutcome {
  item: DatasetItem;
}

export interface LevelRun {
  concurrency: number;
  warmupRequests: number;
  /** Wall clock of the timed part, first send to last response. */
  wallSeconds: number;
  /** In manifest order. */
  records: RequestRecord[];
}

export interface LevelOptions {
  concurrency: number;
  warmupRequests: number;
  /** Called after every finished request, warm-up included. */
  onRequestDone?: (phase: 'warmup' | 'timed') => void;
}

export type Send = (item: DatasetItem) => Promise<RequestOutcome>;

export async function runLevel(items: readonly DatasetItem[], send: Send, options: LevelOptions): Promise<LevelRun> {
  const warmupItems = Array.from({ length: options.warmupRequests }, (_, i) => items[i % items.length]);
  await inParallel(warmupItems, options.concurrency, async (item) => {
    await send(item);
    options.onRequestDone?.('warmup');
  });

  const records: RequestRecord[] = new Array(items.length);
  const started = performance.now();
  await inParallel(items, options.concurrency, async (item, index) => {
    records[index] = { item, ...(await send(item)) };
    options.onRequestDone?.('timed');
  });
  const wallSeconds = (performance.now() - started) / 1000;
  return { concurrency: options.concurrency, warmupRequests: options.warmupRequests, wallSeconds, records };
}

async function inParallel<T>(list: readonly T[], workers: number, task: (value: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const index = next++;
      await task(list[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, list.length) }, worker));
}
