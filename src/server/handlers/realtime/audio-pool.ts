// The main-thread side of the audio thread (audio-worker.ts): one piscina thread
// for every session of the server, so each stream's state stays where its calls
// run. A session pushes one call at a time (its own queue), which keeps a stream's
// windows in order; calls of different sessions overlap and their VAD windows are
// batched by the worker.
import { Piscina } from 'piscina';
import type { AudioFormat } from './audio-formats.js';
import { unpackResult, type AudioTask, type PushResult } from './audio-protocol.js';

const WORKER = new URL('./audio-worker.js', import.meta.url).href;
/** Calls in flight in the thread at once: at least one per open session, so none waits behind another's model run. */
const CONCURRENT_TASKS = 256;

export class AudioPool {
  private readonly pool = new Piscina({ filename: WORKER, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: CONCURRENT_TASKS, idleTimeout: Infinity, atomics: 'disabled' });

  /** 16 kHz samples (and VAD probabilities) of `bytes`, which are transferred to the thread. */
  async push(id: string, format: AudioFormat, bytes: Uint8Array, opts: { vad: boolean; flush: boolean }): Promise<PushResult> {
    // A small Buffer is a view of Node's shared pool: copy it (Buffer#slice would not), never transfer the pool.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
    const task: AudioTask = { op: 'push', id, format, bytes: owned.buffer as ArrayBuffer, ...opts };
    return unpackResult((await this.pool.run(task, { transferList: [task.bytes] })) as ArrayBuffer);
  }

  /** Forgets the stream's state (resampler, LSTM state, unfinished window). */
  async close(id: string): Promise<void> {
    await this.pool.run({ op: 'close', id } satisfies AudioTask);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
