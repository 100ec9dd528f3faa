// Reader and writer for the safetensors format (u64 LE header length, JSON
// header, raw little-endian data) including sharded checkpoints with an index.
// Tensors are read lazily, one at a time, so a 4 GB checkpoint never sits in
// memory whole.
import fs from 'node:fs';
import path from 'node:path';

export type SafeDType = 'BF16' | 'F16' | 'F32' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';
const DTYPE_BYTES: Record<SafeDType, number> = { BF16: 2, F16: 2, F32: 4, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

export interface TensorInfo {
  name: string;
  dtype: SafeDType;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data inside `file`. */
  offset: number;
  byteLength: number;
}

export class SafetensorsError extends Error {
  readonly code = 'ERR_SAFETENSORS';
}

/** Reads the header of one .safetensors file. */
export function readHeader(file: string): TensorInfo[] {
  const fd = fs.openSync(file, 'r');
  try {
    const lenBuf = Buffer.alloc(8);
    if (fs.readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new SafetensorsError(`${file}: too short for a safetensors header`);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    const size = fs.fstatSync(fd).size;
    if (headerLen <= 0 || 8 + headerLen > size) throw new SafetensorsError(`${file}: header length ${headerLen} exceeds file size ${size}`);
    const hdr = Buffer.alloc(headerLen);
    fs.readSync(fd, hdr, 0, headerLen, 8);
    const json = JSON.parse(hdr.toString('utf8')) as Record<string, { dtype: SafeDType; shape: number[]; data_offsets: [number, number] }>;
    const base = 8 + headerLen;
    const out: TensorInfo[] = [];
    for (const [name, t] of Object.entries(json)) {
      if (name === '__metadata__') continue;
      const [begin, end] = t.data_offsets;
      if (!(t.dtype in DTYPE_BYTES)) throw new SafetensorsError(`${file}: tensor ${name} has unsupported dtype ${t.dtype}`);
      const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (end - begin !== expected || base + end > size) throw new SafetensorsError(`${file}: tensor ${name} has inconsistent offsets`);
      out.push({ name, dtype: t.dtype, shape: t.shape, file, offset: base + begin, byteLength: end - begin });
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** All tensors of a checkpoint folder: model.safetensors or the sharded index. */
export class SafetensorsCheckpoint {
  readonly tensors = new Map<string, TensorInfo>();

  constructor(readonly dir: string) {
    const index = path.join(dir, 'model.safetensors.index.json');
    let files: string[];
    if (fs.existsSync(index)) {
      const map = JSON.parse(fs.readFileSync(index, 'utf8')).weight_map as Record<string, string>;
      files = [...new Set(Object.values(map))];
    } else {
      files = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
    }
    if (files.length === 0) throw new SafetensorsError(`${dir}: no .safetensors files`);
    for (const f of files) for (const t of readHeader(path.join(dir, f))) this.tensors.set(t.name, t);
  }

  has(name: string): boolean { return this.tensors.has(name); }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.dir}: missing tensor ${name}`);
    return t;
  }

  /** Raw bytes of one tensor. */
  raw(name: string): Uint8Array {
    const t = this.info(name);
    const buf = new Uint8Array(t.byteLength);
    const fd = fs.openSync(t.file, 'r');
    try {
      readFully(fd, buf, t.byteLength, t.offset);
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  }

  /** Whether two tensors hold the same dtype, shape and bytes; read 16 MiB at a time (a real output head is 0.3-0.6 GB). */
  sameBytes(a: string, b: string): boolean {
    const [ta, tb] = [this.info(a), this.info(b)];
    if (ta.dtype !== tb.dtype || ta.byteLength !== tb.byteLength || ta.shape.join() !== tb.shape.join()) return false;
    const step = 16 << 20;
    const [bufA, bufB] = [Buffer.alloc(Math.min(step, ta.byteLength)), Buffer.alloc(Math.min(step, ta.byteLength))];
    const [fdA, fdB] = [fs.openSync(ta.file, 'r'), fs.openSync(tb.file, 'r')];
    try {
      for (let done = 0; done < ta.byteLength; done += step) {
        const n = Math.min(step, ta.byteLength - done);
        readFully(fdA, bufA, n, ta.offset + done);
        readFully(fdB, bufB, n, tb.offset + done);
        if (bufA.compare(bufB, 0, n, 0, n) !== 0) return false;
      }
      return true;
    } finally {
      fs.closeSync(fdA);
      fs.closeSync(fdB);
    }
  }

  /** One tensor converted to float32, whatever its stored dtype. */
  float32(name: string): Float32Array {
    return toFloat32(this.raw(name), this.info(name).dtype);
  }
}

function readFully(fd: number, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) throw new SafetensorsError(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

export function toFloat32(bytes: Uint8Array, dtype: SafeDType): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'F32') return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = dv.getUint16(2 * i, true) << 16;
  } else if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true));
  } else if (dtype === 'F64') {
    for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
  } else {
    throw new SafetensorsError(`cannot convert ${dtype} to float32`);
  }
  return out;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** float32 → bfloat16 bits with round-to-nearest-even (NaN kept quiet). */
export function float32ToBf16(src: Float32Array): Uint16Array {
  const u32 = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = u32[i];
    if ((x & 0x7fffffff) > 0x7f800000) { out[i] = (x >>> 16) | 0x40; continue; }
    out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
  }
  return out;
}

export interface TensorSpec { name: string; dtype: SafeDType; shape: number[] }
export interface TensorToWrite extends TensorSpec { data: ArrayBufferView }

/** Writes one .safetensors file; tensors are written in the given order. */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  writeSafetensorsStreaming(file, tensors, (t) => (t as TensorToWrite).data, metadata);
}

/** Writes a .safetensors file whose tensor data is produced one tensor at a
 *  time, so a multi-GB checkpoint never has to sit in memory whole. */
export function writeSafetensorsStreaming(
  file: string,
  specs: TensorSpec[],
  produce: (spec: TensorSpec) => ArrayBufferView,
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of specs) {
    const size = byteSize(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const fd = fs.openSync(file, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    fs.writeSync(fd, len);
    fs.writeSync(fd, Buffer.from(json, 'utf8'));
    for (const t of specs) {
      const data = produce(t);
      if (data.byteLength !== byteSize(t)) throw new SafetensorsError(`tensor ${t.name}: ${data.byteLength} bytes, shape needs ${byteSize(t)}`);
      fs.writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function byteSize(t: TensorSpec): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
}
