// Audio embeddings by fingerprint, so identical audio is encoded once: clips
// already encoded come from a small LRU, clips being encoded are awaited
// (single flight), and only the rest go to the encoder, in one batch.
// Callers get copies: results are transferred to the next stage, which would
// detach the cached array.
import { createHash } from 'node:crypto';
import { ByteLru, type LruLimits } from './lru.js';

export type EncodeCacheLimits = LruLimits;

/** Fingerprint of a clip's features (content and shape). */
export function fingerprint(features: Float32Array, frames: number): string {
  const hash = createHash('sha256').update(new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
  return `${frames}:${hash.digest('base64url')}`;
}

export class EncodeCache<Input> {
  private readonly lru: ByteLru<Float32Array>;
  private readonly inFlight = new Map<string, Promise<Float32Array>>();
  hits = 0;
  misses = 0;

  constructor(limits: EncodeCacheLimits) {
    this.lru = new ByteLru(limits);
  }

  /** Embeddings of every clip, in order; `encode` sees each distinct uncached clip once. */
  async encodeAll(clips: { key: string; input: Input }[], encode: (inputs: Input[]) => Promise<Float32Array[]>): Promise<Float32Array[]> {
    const pending = new Map<string, Promise<Float32Array>>();
    const missing: { key: string; input: Input }[] = [];
    for (const clip of clips) {
      if (pending.has(clip.key) || missing.some((m) => m.key === clip.key)) continue;
      const known = this.lookup(clip.key);
      if (known) {
        this.hits++;
        pending.set(clip.key, known);
      } else {
        missing.push(clip);
      }
    }
    if (missing.length > 0) {
      this.misses += missing.length;
      const batch = encode(missing.map((c) => c.input));
      missing.forEach(({ key }, i) => {
        const one = batch.then((out) => out[i]);
        this.inFlight.set(key, one);
        pending.set(key, one);
        one.then(
          (embedding) => this.lru.set(key, embedding),
          () => {},
        ).finally(() => this.inFlight.delete(key));
      });
    }
    const results = await Promise.all(clips.map((c) => pending.get(c.key)!));
    return results.map((r) => r.slice());
  }

  get size(): number {
    return this.lru.size;
  }

  private lookup(key: string): Promise<Float32Array> | undefined {
    const cached = this.lru.get(key);
    return cached ? Promise.resolve(cached) : this.inFlight.get(key);
  }
}
