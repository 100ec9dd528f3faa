// The decoder's KV slots as a free list: a sequence holds one slot from
// admission until it finishes or is cancelled, so the number of slots bounds
// how many sequences decode together.

export class KvSlotPool {
  private readonly free: number[];
  private readonly held = new Set<number>();

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slot count must be a positive integer, got ${size}`);
    // Popped from the end: lowest slot numbers go out first, which keeps runs reproducible.
    this.free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }

  get available(): number {
    return this.free.length;
  }

  /** A free slot, or undefined when all are held. */
  acquire(): number | undefined {
    const slot = this.free.pop();
    if (slot !== undefined) this.held.add(slot);
    return slot;
  }

  release(slot: number): void {
    if (!this.held.delete(slot)) throw new Error(`KV slot ${slot} released but not held`);
    this.free.push(slot);
  }
}
