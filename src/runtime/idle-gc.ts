// Collects a stage worker's garbage once it goes idle after large payloads. V8 frees a dropped
// ArrayBuffer's memory only when it collects, and it collects only while JavaScript allocates:
// a worker that has just handed on 1000 s of audio and then waits keeps the buffers it dropped
// for as long as it waits. Measured (issue 11; 2 x 1000 s 8-channel FLAC on the tiny checkpoint,
// loaded machine): 3 s, 13 s and 43 s after the last answer RSS stayed at 557 MB (warm idle 319 MB)
// with 122 MB of dead buffers in the features worker, 100 MB in the encoder's and 56 MB in
// decode's; one collection in each worker brought it to 369 MB. A collection of a stage worker's
// heap (under 20 MB) takes a few milliseconds, and runs only when the worker is idle.
import v8 from 'node:v8';

/** Growth of external (ArrayBuffer, WASM) plus heap memory since the last collection that makes one worth it. */
const MIN_GROWTH_BYTES = 16 * 2 ** 20;
/** Idle time before collecting: work arriving meanwhile cancels it (an allocating worker collects on its own). */
const IDLE_DELAY_MS = 250;
/** Time after a collection before what is left is read as live. */
const SETTLE_MS = 1000;

const held = () => {
  const stats = v8.getHeapStatistics();
  return stats.external_memory + stats.used_heap_size;
};

export class IdleCollector {
  /** The least memory the worker has held when idle or after collecting: growth is counted from it. */
  private floor = held();
  private timer: NodeJS.Timeout | undefined;
  /** Between busy() and the next idle(): memory read then is the work's, not what is left. */
  private working = false;

  /** `collect` is V8's gc (exposed to workers by the stage runner); without it nothing is done. */
  constructor(private readonly collect: (() => void) | undefined) {}

  /** Work started: a pending collection waits for the next idle moment. */
  busy(): void {
    this.working = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * The worker has no work left: collect soon if it holds MIN_GROWTH_BYTES more than its floor.
   * The floor is the lowest level seen, not the level right after the last collection: V8 frees
   * a dead ArrayBuffer's memory on a background sweeper, so external_memory read just after gc()
   * can still count it, and a floor set there once (measured: the decode worker's 170 MB) made
   * every later collection look unneeded.
   */
  idle(): void {
    this.working = false;
    if (!this.collect || this.timer) return;
    const now = held();
    this.floor = Math.min(this.floor, now);
    if (now - this.floor < MIN_GROWTH_BYTES) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.collect!();
      // Read once the sweeper has run, if still idle: what is left is live (a cache, a codec's WASM
      // memory) and becomes the floor. Work that started meanwhile would raise it by its own buffers.
      setTimeout(() => {
        if (!this.working) this.floor = held();
      }, SETTLE_MS).unref();
    }, IDLE_DELAY_MS);
    this.timer.unref();
  }
}
