// Encoder outputs per completed attention window, for encoders whose windows
// do not see each other (windowed attention): a window's output rows depend only
// on that window's input, so when a clip grows (live audio re-encoded every
// partial) the windows it shares with an earlier clip come from here and only
// what follows is encoded. A window is keyed by a fingerprint of its own input
// columns, so any change to them (e.g. a feature normalisation that moved) is a
// miss, never a stale hit. Only a clip's leading run of cached windows is reused:
// the encoder is asked for everything after it (its `skip` argument).
import { createHash } from 'node:crypto';
import { ByteLru } from './lru.js';

/** Fingerprint of columns from..to-1 of a row-major [rows, cols] matrix (a window of a feature map). */
export function fingerprintColumns(data: Float32Array, rows: number, cols: number, from: number, to: number): string {
  const hash = createHash('sha256');
  for (let r = 0; r < rows; r++) {
    const start = data.byteOffset + (r * cols + from) * 4;
    hash.update(new Uint8Array(data.buffer, start, (to - from) * 4));
  }
  return `${to - from}:${hash.digest('base64url')}`;
}

export interface WindowedClip<Input> {
  input: Input;
  /** Fingerprints of the clip's complete windows, in order. */
  windowKeys: string[];
}

/** Encodes clips with their first `skip` windows left out; returns per clip the rows after them. */
export type SkipEncode<Input> = (clips: { input: Input; skip: number }[]) => Promise<Float32Array[]>;

export class WindowCache {
  private readonly lru: ByteLru<Float32Array>;
  /** Complete windows taken from the cache, and complete windows encoded (then cached). */
  reused = 0;
  encoded = 0;

  /** `floatsPerWindow`: output values of one complete window (tokens × width). */
  constructor(maxBytes: number, private readonly floatsPerWindow: number) {
    this.lru = new ByteLru({ maxEntries: Number.POSITIVE_INFINITY, maxBytes });
  }

  get size(): number {
    return this.lru.size;
  }

  /** Every clip's output, in order: cached leading windows, then what `encode` computed. */
  async encodeAll<Input>(clips: WindowedClip<Input>[], encode: SkipEncode<Input>): Promise<Float32Array[]> {
    const known = clips.map(({ windowKeys }) => {
      const rows: Float32Array[] = [];
      for (const key of windowKeys) {
        const hit = this.lru.get(key);
        if (!hit) break;
        rows.push(hit);
      }
      return rows;
    });
    const fresh = await encode(clips.map((clip, i) => ({ input: clip.input, skip: known[i].length })));
    return clips.map((clip, i) => {
      const skip = known[i].length;
      this.reused += skip;
      for (let w = skip; w < clip.windowKeys.length; w++) {
        this.encoded++;
        const from = (w - skip) * this.floatsPerWindow;
        this.lru.set(clip.windowKeys[w], fresh[i].slice(from, from + this.floatsPerWindow));
      }
      return skip === 0 ? fresh[i] : concat([...known[i], fresh[i]]);
    });
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
