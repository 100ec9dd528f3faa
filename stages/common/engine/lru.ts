// A least-recently-used map bounded by entry count and by bytes, for caches of
// model outputs (encode-cache.ts, window-cache.ts). Map iteration order is
// insertion order, so re-inserting on a hit keeps the oldest entry first.

export interface LruLimits {
  maxEntries: number;
  maxBytes: number;
}

export class ByteLru<V extends { byteLength: number }> {
  private readonly map = new Map<string, V>();
  private bytes = 0;

  constructor(private readonly limits: LruLimits) {}

  get size(): number {
    return this.map.size;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** The value, now the most recent; undefined when absent. */
  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  /** Stores `value` unless it alone exceeds the limits; evicts the oldest entries until both hold. */
  set(key: string, value: V): void {
    if (value.byteLength > this.limits.maxBytes || this.limits.maxEntries === 0 || this.map.has(key)) return;
    this.map.set(key, value);
    this.bytes += value.byteLength;
    for (const [oldKey, old] of this.map) {
      if (this.map.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.map.delete(oldKey);
      this.bytes -= old.byteLength;
    }
  }
}
