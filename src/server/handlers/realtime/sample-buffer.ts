// A session's 16 kHz samples as a list of chunks, addressed by their index from
// the start of the session's audio: appends add a chunk (no copy), a turn takes a
// range out once (one copy), a partial copies what is held, and what is before a
// turn's start is dropped.

export class SampleBuffer {
  private chunks: Float32Array[] = [];
  /** Index of the first sample held. */
  private first = 0;
  private held = 0;

  get start(): number {
    return this.first;
  }

  /** Index after the last sample held. */
  get end(): number {
    return this.first + this.held;
  }

  get length(): number {
    return this.held;
  }

  push(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.chunks.push(samples);
    this.held += samples.length;
  }

  /** Drops the samples before index `at`. */
  dropBefore(at: number): void {
    let drop = Math.min(Math.max(0, at - this.first), this.held);
    this.first += drop;
    this.held -= drop;
    while (drop > 0) {
      const head = this.chunks[0];
      if (head.length <= drop) {
        drop -= head.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = head.subarray(drop);
        drop = 0;
      }
    }
  }

  /** Keeps only the last `count` samples. */
  keepLast(count: number): void {
    this.dropBefore(this.end - count);
  }

  /** The samples from the start to index `to`, removed from the buffer. */
  take(to: number): Float32Array {
    const out = this.copy(to);
    this.dropBefore(this.first + out.length);
    return out;
  }

  /** The samples from the start to index `to` (all by default), left in the buffer. */
  copy(to = this.end): Float32Array {
    const count = Math.min(Math.max(0, to - this.first), this.held);
    const out = new Float32Array(count);
    let at = 0;
    for (const chunk of this.chunks) {
      if (at >= count) break;
      const part = chunk.subarray(0, count - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}
