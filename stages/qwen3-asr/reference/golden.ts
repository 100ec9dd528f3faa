// Reads a golden set (test/fixtures/golden/<name>/): tensors the official
// Qwen3-ASR code computed, stored as .npy files with a manifest.json that names
// the checkpoint, the inputs, the prompts and the tolerances. Only what the sets
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

export interface GoldenPrompt { context: string; language: string | null }

export interface GoldenManifest {
  steps: number;
  prompts: Record<string, GoldenPrompt>;
  /** `wav`, when present, names the input's WAV file relative to the set (else NAME.wave.npy holds it). */
  inputs: Record<string, { samples: number; frames: number; audio_tokens: number; wav?: string } & Record<string, unknown>>;
  tolerances: { mel: { max_abs: number }; encoder_fp32: { max_rel: number }; logits_fp32: { max_rel: number } } & Record<string, unknown>;
  config: { eos_token_ids: number[] } & Record<string, unknown>;
}

export class GoldenSet {
  readonly manifest: GoldenManifest;
  /** The checkpoint the tensors were computed from. */
  readonly checkpoint: string;

  constructor(readonly dir: string) {
    this.manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    this.checkpoint = path.join(dir, 'checkpoint');
  }

  get inputs(): string[] { return Object.keys(this.manifest.inputs); }
  get prompts(): string[] { return Object.keys(this.manifest.prompts); }

  floats(name: string): Float32Array {
    const a = readNpy(path.join(this.dir, `${name}.npy`));
    if (!(a.data instanceof Float32Array)) throw new Error(`${name}.npy holds ids, not floats`);
    return a.data;
  }

  ids(name: string): number[] {
    const a = readNpy(path.join(this.dir, `${name}.npy`));
    if (!(a.data instanceof Int32Array)) throw new Error(`${name}.npy holds floats, not ids`);
    return Array.from(a.data);
  }

  /** Greedy ids up to (not including) the first EOS, as generation would stop there. */
  greedyBeforeEos(input: string, prompt: string): number[] {
    const ids = this.ids(`${input}.${prompt}.greedy`);
    const eos = ids.findIndex((id) => this.manifest.config.eos_token_ids.includes(id));
    return eos < 0 ? ids : ids.slice(0, eos);
  }
}
