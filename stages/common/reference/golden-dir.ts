// A golden set on disk (test/fixtures/golden/<name>/): tensors an official implementation
// computed, stored as .npy files beside a manifest.json and the checkpoint they came from.
// Shared by every model's golden tests (Qwen3-ASR, Qwen3-ForcedAligner). Only what the sets
// hold is supported: little-endian float32 / int32 arrays in C order.
import fs from 'node:fs';
import path from 'node:path';

export interface NpyArray { data: Float32Array | Int32Array; shape: number[] }

const NPY_MAGIC = '\x93NUMPY';

/** Parses one .npy file (format versions 1-3). */
export function readNpy(file: string): NpyArray {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== NPY_MAGIC) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || fortran !== 'False' || shapeText === undefined) throw new Error(`${file}: unsupported .npy header ${header.trim()}`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.buffer.slice(buf.byteOffset + start + headerLen, buf.byteOffset + buf.byteLength);
  if (body.byteLength !== count * 4) throw new Error(`${file}: ${body.byteLength} data bytes for shape [${shape}]`);
  if (descr === '<f4') return { data: new Float32Array(body), shape };
  if (descr === '<i4') return { data: new Int32Array(body), shape };
  throw new Error(`${file}: dtype ${descr} is not float32 or int32`);
}

/** The folder of one set: its manifest (typed by the model's reader) and its checkpoint. */
export class GoldenDir<M> {
  readonly manifest: M;
  /** The checkpoint the tensors were computed from. */
  readonly checkpoint: string;

  constructor(readonly dir: string) {
    this.manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    this.checkpoint = path.join(dir, 'checkpoint');
  }

  array(name: string): Float32Array | Int32Array { return readNpy(path.join(this.dir, `${name}.npy`)).data; }
}

/** max |a - b| / max |b|. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
