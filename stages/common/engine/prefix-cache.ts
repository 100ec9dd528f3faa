// Decoder KV rows of finished prompts, so a later prompt that starts the same
// (the next partial of a live turn: same system turn, same audio up to where
// it grew) starts from them instead of prefilling those positions again.
// Causal attention makes a position's keys/values a function of the tokens and
// embeddings at and before it, so rows are reused only over a prefix that is
// identical in both: the same token ids and, at every placeholder position, the
// same embedding row bit for bit (a different clip with the same text around it
// stops the match at its first audio row; nothing of one request's input can
// reach another's result). Bounded by bytes (KV rows + the embeddings kept to
// compare), least recently used first out.
import type { KvRows } from './kv-store.js';

export interface PrefixEntry {
  /** The prompt ids whose KV rows are kept. */
  ids: Int32Array;
  /** Embedding rows of the placeholders in `ids`, in order (a copy: the caller may hand its array on). */
  embeds?: Float32Array;
  kv: KvRows;
}

export interface PrefixMatch {
  entry: PrefixEntry;
  /** Positions to take over: the prompt's and the entry's first `length` tokens agree. */
  length: number;
}

export class PrefixCache {
  /** Least recently used first. */
  private readonly entries: PrefixEntry[] = [];
  private bytes = 0;

  constructor(readonly maxBytes: number, private readonly embedTokenId: number) {}

  get size(): number {
    return this.entries.length;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** Keeps `entry` (unless it alone is over the bound), dropping the least recently used past it. */
  add(entry: PrefixEntry): void {
    const size = entryBytes(entry);
    if (size > this.maxBytes) return;
    this.entries.push(entry);
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.bytes -= entryBytes(this.entries.shift()!);
  }

  /**
   * The entry sharing the longest prefix with `ids`/`embeds` (`rowSize` floats per placeholder row),
   * at most `limit` positions; undefined when none shares a position.
   */
  match(ids: Int32Array, embeds: Float32Array | undefined, rowSize: number, limit: number): PrefixMatch | undefined {
    let best: PrefixMatch | undefined;
    for (const entry of this.entries) {
      const length = this.common(entry, ids, embeds, rowSize, limit);
      if (length > (best?.length ?? 0)) best = { entry, length };
    }
    if (best) {
      this.entries.splice(this.entries.indexOf(best.entry), 1);
      this.entries.push(best.entry);
    }
    return best;
  }

  private common(entry: PrefixEntry, ids: Int32Array, embeds: Float32Array | undefined, rowSize: number, limit: number): number {
    const end = Math.min(limit, ids.length, entry.ids.length);
    // Bit patterns, so -0 ≠ 0 and NaN = the same NaN, as the model would see them.
    const mine = embeds && new Int32Array(embeds.buffer, embeds.byteOffset, embeds.length);
    const theirs = entry.embeds && new Int32Array(entry.embeds.buffer, entry.embeds.byteOffset, entry.embeds.length);
    let row = 0;
    for (let i = 0; i < end; i++) {
      if (ids[i] !== entry.ids[i]) return i;
      if (ids[i] !== this.embedTokenId) continue;
      if (!mine || !theirs || (row + 1) * rowSize > mine.length || (row + 1) * rowSize > theirs.length) return i;
      for (let k = row * rowSize; k < (row + 1) * rowSize; k++) if (mine[k] !== theirs[k]) return i;
      row++;
    }
    return end;
  }
}

function entryBytes(entry: PrefixEntry): number {
  return entry.kv.byteLength + (entry.embeds?.byteLength ?? 0) + entry.ids.byteLength;
}
