// The main-thread side of the audio threads (audio-worker.ts): each session's
// stream lives in one thread (limits.audio_threads of them, given round-robin), so
// its state stays where its calls run. Resampling 24 → 16 kHz costs ~5-20 ms per
// audio second and the VAD ~1 ms: one thread holds a few dozen live streams. A session pushes one call at a time (its own queue), which keeps a stream's
// windows in order; calls of different sessions overlap and their VAD windows are
// batched by the worker.
import { Piscina } from 'piscina';
import type { AudioFormat } from './audio-formats.js';
import { unpackResult, type AudioTask, type PushResult } from './audio-protocol.js';

const WORKER = new URL('./audio-worker.js', import.meta.url).href;
/** Calls in flight in the thread at once: at least one per open session, so none waits behind another's model run. */
const CONCURRENT_TASKS = 256;

export class AudioPool {
  /** One single-thread pool per audio thread, so a stream's calls always reach the thread holding its state. */
  private readonly pools: (Piscina | undefined)[];
  private readonly threadOf = new Map<string, number>();
  private next = 0;

  constructor(threads = 1) {
    this.pools = new Array(threads).fill(undefined);
  }

  /** The stream's thread: given round-robin at its first call. A thread starts with its first stream
   *  (it loads onnxruntime: a server nobody streams to never does, and a signal cannot end one mid-load). */
  private pool(id: string): Piscina {
    let index = this.threadOf.get(id);
    if (index === undefined) {
      index = this.next++ % this.pools.length;
      this.threadOf.set(id, index);
    }
    return (this.pools[index] ??= new Piscina({ filename: WORKER, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: CONCURRENT_TASKS, idleTimeout: Infinity, atomics: 'disabled' }));
  }

  /** 16 kHz samples (and VAD probabilities) of `bytes`, which are transferred to the thread. */
  async push(id: string, format: AudioFormat, bytes: Uint8Array, opts: { vad: boolean; flush: boolean }): Promise<PushResult> {
    // A small Buffer is a view of Node's shared pool: copy it (Buffer#slice would not), never transfer the pool.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    const task: AudioTask = { op: 'push', id, format, bytes: owned.buffer as ArrayBuffer, ...opts };
    return unpackResult((await this.pool(id).run(task, { transferList: [task.bytes] })) as ArrayBuffer);
  }

  /** Forgets the stream's state (resampler, LSTM state, unfinished window). */
  async close(id: string): Promise<void> {
    const index = this.threadOf.get(id);
    if (index === undefined) return;
    this.threadOf.delete(id);
    await this.pools[index]?.run({ op: 'close', id } satisfies AudioTask);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.pools.map((p) => p?.destroy()));
  }
}
