// Host-owned KV cache for continuous batching. Per layer one buffer for keys
// and one for values, laid out [rows, kvHeads, stride, headDim]. Live sequences
// occupy the first rows, so a step over n rows feeds zero-copy subarray views
// (a prefill over a short past may take narrow copies instead, narrowView);
// releasing a row moves the last live row into it. Scheduler slot numbers are
// logical and map to rows here.
//
// `stride` (positions per row) follows the longest live sequence instead of
// being fixed at maxContext: attention reads all `stride` positions of every
// row it is given, so a tight stride keeps that read close to the real context.
// The layout is rewritten in place when the stride grows or shrinks, which
// happens once per STRIDE_QUANTUM tokens of growth at most. Reading the cache is
// much of a batched decode step (0.6B int8, batch 8, 2 cores: 75 ms at stride
// 192, 100 ms at 384) and a rewrite costs about one step's read, so a small
// quantum with no headroom wins (tokens 140→268: 77 vs 80 ms per step with
// quantum 64 and 25% headroom).

import type { KvCacheType } from '../graph/attention.js';

export class KvCapacityError extends Error {
  readonly code = 'ERR_KV_CAPACITY';
}

/** A layer's keys or values: 'float16' caches hold IEEE half bits (onnxruntime's float16 tensors; half the memory per slot). */
export type KvArray = Float32Array | Uint16Array;

/**
 * `type`: as the decoder graph declares its cache inputs (graph/attention.ts), float32 when absent.
 * `writesInPlace`: the graph stores a run's keys itself at each row's length, rows left out of a
 * decode step too (a throwaway token), so every live row keeps one free position after its end.
 */
export interface KvShape { layers: number; maxSlots: number; kvHeads: number; maxContext: number; headDim: number; type?: KvCacheType; writesInPlace?: boolean }

/** A copy of a slot's first `length` positions, per layer [kvHeads, length, headDim] (prefix-cache.ts keeps them). */
export interface KvRows { length: number; keys: KvArray[]; values: KvArray[]; byteLength: number }

const STRIDE_QUANTUM = 32;

export class KvStore {
  readonly keys: KvArray[];
  readonly values: KvArray[];
  readonly type: KvCacheType;
  /** Positions per row in the current layout. */
  stride: number;
  /** Free positions kept after the longest row (1 when the graph writes in place). */
  private readonly slack: number;
  private readonly rowOfSlot = new Map<number, number>();
  private readonly slotOfRow: number[] = [];
  private readonly lengths: number[] = [];

  constructor(readonly shape: KvShape) {
    this.slack = shape.writesInPlace ? 1 : 0;
    const size = shape.maxSlots * shape.kvHeads * (shape.maxContext + this.slack) * shape.headDim;
    this.type = shape.type ?? 'float32';
    const make = () => (this.type === 'float16' ? new Uint16Array(size) : new Float32Array(size));
    this.keys = Array.from({ length: shape.layers }, make);
    this.values = Array.from({ length: shape.layers }, make);
    this.stride = Math.min(shape.maxContext + this.slack, STRIDE_QUANTUM);
  }

  /** Physical row of a slot, taking the next free row for a slot seen for the first time. */
  row(slot: number): number {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.shape.maxSlots) throw new KvCapacityError(`slot ${slot} is outside 0..${this.shape.maxSlots - 1}`);
    let r = this.rowOfSlot.get(slot);
    if (r === undefined) {
      r = this.slotOfRow.length;
      this.rowOfSlot.set(slot, r);
      this.slotOfRow.push(slot);
      this.lengths.push(0);
    }
    return r;
  }

  length(slot: number): number {
    const r = this.rowOfSlot.get(slot);
    return r === undefined ? 0 : this.lengths[r];
  }

  rowLength(row: number): number { return this.lengths[row]; }

  /** Makes room for `extra` more tokens in the slot, or throws when the context is full. */
  reserve(slot: number, extra: number): void {
    const need = this.length(slot) + extra;
    if (need > this.shape.maxContext) {
      throw new KvCapacityError(`slot ${slot} holds ${this.length(slot)} tokens; ${extra} more exceed the context of ${this.shape.maxContext}`);
    }
    if (need + this.slack > this.stride) this.relayout(this.strideFor(need + this.slack));
  }

  /** Zero-copy views [rows, kvHeads, stride, headDim] of rows first..first+rows-1 for one layer. */
  view(layer: number, first: number, rows: number): { k: KvArray; v: KvArray } {
    const block = this.shape.kvHeads * this.stride * this.shape.headDim;
    return { k: this.keys[layer].subarray(first * block, (first + rows) * block), v: this.values[layer].subarray(first * block, (first + rows) * block) };
  }

  /**
   * Copies [rows, kvHeads, width, headDim] of rows first..first+rows-1's first `width` positions
   * for one layer (zeros past a row's length, which the graph masks): a prefill over rows with a
   * short past reads `width` positions instead of the whole stride.
   */
  narrowView(layer: number, first: number, rows: number, width: number): { k: KvArray; v: KvArray } {
    const all = Array.from({ length: rows }, (_, i) => first + i);
    return { k: this.gather(this.keys[layer], all, width), v: this.gather(this.values[layer], all, width) };
  }

  /**
   * Stores new keys/values [n, kvHeads, S, headDim] of batch entry `b` into
   * row `row` at positions length..length+S-1 (call append() after all layers).
   */
  write(layer: number, row: number, newK: KvArray, newV: KvArray, b: number, seq: number): void {
    const { kvHeads, headDim } = this.shape;
    const pos = this.lengths[row];
    for (let h = 0; h < kvHeads; h++) {
      const src = (b * kvHeads + h) * seq * headDim;
      const dst = ((row * kvHeads + h) * this.stride + pos) * headDim;
      this.keys[layer].set(newK.subarray(src, src + seq * headDim), dst);
      this.values[layer].set(newV.subarray(src, src + seq * headDim), dst);
    }
  }

  append(row: number, seq: number): void {
    this.lengths[row] += seq;
  }

  /** Copies the keys/values of the slot's first `length` positions out of the store. */
  copyOut(slot: number, length: number): KvRows {
    const r = this.rowOfSlot.get(slot);
    if (r === undefined || length > this.lengths[r]) throw new KvCapacityError(`slot ${slot} holds ${this.length(slot)} tokens, not ${length}`);
    const keys = this.keys.map((buf) => this.gather(buf, [r], length));
    const values = this.values.map((buf) => this.gather(buf, [r], length));
    return { length, keys, values, byteLength: 2 * keys.reduce((n, k) => n + k.byteLength, 0) };
  }

  /** Fills an empty slot's first `length` positions from `rows` (length ≤ rows.length); the slot then holds `length` tokens. */
  copyIn(slot: number, rows: KvRows, length: number): void {
    if (this.length(slot) !== 0 || length > rows.length) throw new KvCapacityError(`slot ${slot} must be empty and the copy hold ${length} positions`);
    const r = this.row(slot);
    this.reserve(slot, length);
    const { kvHeads, headDim } = this.shape;
    for (const [buf, src] of [...this.keys.map((k, l) => [k, rows.keys[l]]), ...this.values.map((v, l) => [v, rows.values[l]])] as [KvArray, KvArray][]) {
      for (let h = 0; h < kvHeads; h++) buf.set(src.subarray(h * rows.length * headDim, (h * rows.length + length) * headDim), (r * kvHeads + h) * this.stride * headDim);
    }
    this.lengths[r] = length;
  }

  /** Frees a slot; the last live row moves into its place. */
  release(slot: number): void {
    const r = this.rowOfSlot.get(slot);
    if (r === undefined) return;
    const last = this.slotOfRow.length - 1;
    if (r !== last) {
      const { kvHeads, headDim } = this.shape;
      const used = this.lengths[last] * headDim;
      for (const buf of [...this.keys, ...this.values]) {
        for (let h = 0; h < kvHeads; h++) {
          const from = (last * kvHeads + h) * this.stride * headDim;
          buf.copyWithin((r * kvHeads + h) * this.stride * headDim, from, from + used);
        }
      }
      const moved = this.slotOfRow[last];
      this.slotOfRow[r] = moved;
      this.rowOfSlot.set(moved, r);
      this.lengths[r] = this.lengths[last];
    }
    this.rowOfSlot.delete(slot);
    this.slotOfRow.pop();
    this.lengths.pop();
    // Shrink with hysteresis (only when half the stride is unused) so that one
    // long sequence finishing does not leave every later step reading its length.
    const target = this.strideFor(Math.max(1, ...this.lengths) + this.slack);
    if (target <= this.stride / 2) this.relayout(target);
  }

  /** [rows.length, kvHeads, width, headDim]: each row's first min(width, length) positions, zeros after. */
  private gather(buf: KvArray, rows: number[], width: number): KvArray {
    const { kvHeads, headDim } = this.shape;
    const size = rows.length * kvHeads * width * headDim;
    const out = buf instanceof Uint16Array ? new Uint16Array(size) : new Float32Array(size);
    rows.forEach((r, i) => {
      const used = Math.min(width, this.lengths[r]) * headDim;
      for (let h = 0; h < kvHeads; h++) {
        const from = (r * kvHeads + h) * this.stride * headDim;
        out.set(buf.subarray(from, from + used), (i * kvHeads + h) * width * headDim);
      }
    });
    return out;
  }

  private strideFor(tokens: number): number {
    return Math.min(this.shape.maxContext + this.slack, Math.ceil(tokens / STRIDE_QUANTUM) * STRIDE_QUANTUM);
  }

  /**
   * Rewrites live rows from the current stride to `next` in place. Growing
   * walks the (row, head) blocks backwards and shrinking forwards, so no block
   * is overwritten before it has moved.
   */
  private relayout(next: number): void {
    const { kvHeads, headDim } = this.shape;
    const blocks = this.slotOfRow.length * kvHeads;
    const order = next > this.stride ? Array.from({ length: blocks }, (_, i) => blocks - 1 - i) : Array.from({ length: blocks }, (_, i) => i);
    for (const buf of [...this.keys, ...this.values]) {
      for (const b of order) {
        const used = this.lengths[Math.floor(b / kvHeads)] * headDim;
        const from = b * this.stride * headDim;
        buf.copyWithin(b * next * headDim, from, from + used);
      }
    }
    this.stride = next;
  }
}
