// Builds the encoder and decoder ONNX graphs of a checkpoint and caches them on
// disk. A cache entry is keyed by config.json, the safetensors headers and file
// sizes, the precision and the builder version; it is written into a temporary
// folder and renamed into place, so a half-written entry is never used and a
// second start only opens the files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../../../src/onnx/graph-builder.js';
import { readHeader } from '../../../src/weights/safetensors.js';
import type { BlockContext, LinearPrecision } from '../../common/graph/context.js';
import { buildDecoder } from './decoder.js';
import { buildEncoder } from './encoder.js';
import { loadModelSpec, type ModelSpec } from './model-spec.js';

/** Bump a part's version when its graph structure or weight encoding changes. */
export const GRAPH_VERSIONS = { encoder: 1, decoder: 4 } as const;

export type GraphPart = 'encoder' | 'decoder';

export interface ConvertProgress { part: GraphPart; tensor: string; doneElements: number; totalElements: number }

export interface ConvertOptions {
  modelPath: string;
  cacheDir: string;
  precision: LinearPrecision;
  onProgress?: (p: ConvertProgress) => void;
}

export async function convertModel(opts: ConvertOptions): Promise<{ encoderPath: string; decoderPath: string }> {
  const spec = loadModelSpec(opts.modelPath);
  return { encoderPath: ensureGraph(spec, 'encoder', opts), decoderPath: ensureGraph(spec, 'decoder', opts) };
}

/** Path of the cached graph for one part, building it first when missing. */
export function ensureGraph(spec: ModelSpec, part: GraphPart, opts: ConvertOptions): string {
  const dir = path.join(opts.cacheDir, `qwen3-asr-${part}-${opts.precision}-${cacheKey(spec, part, opts.precision)}`);
  const model = path.join(dir, 'model.onnx');
  if (fs.existsSync(model)) return model;
  fs.mkdirSync(opts.cacheDir, { recursive: true });
  removeAbandonedBuilds(dir);
  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    buildPart(spec, part, opts, tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same entry first: keep theirs.
      if (!fs.existsSync(model)) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return model;
}

/**
 * A build stopped by a signal or a crash leaves its temporary folder (a real model's is over a
 * gigabyte). Folders of processes that no longer exist are removed; a live process's are its own.
 */
function removeAbandonedBuilds(dir: string): void {
  const prefix = `${path.basename(dir)}.tmp-`;
  for (const name of fs.readdirSync(path.dirname(dir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !processExists(pid)) fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function buildPart(spec: ModelSpec, part: GraphPart, opts: ConvertOptions, outDir: string): void {
  const g = new GraphBuilder(`qwen3_asr_${part}`);
  g.openExternalData(path.join(outDir, 'weights.bin'));
  const totalElements = spec.partElements(part);
  let doneElements = 0;
  const ctx: BlockContext = {
    g, weights: spec.weights, precision: opts.precision,
    onWeight: (tensor, n) => {
      doneElements = Math.min(totalElements, doneElements + n);
      opts.onProgress?.({ part, tensor, doneElements, totalElements });
    },
  };
  if (part === 'encoder') buildEncoder(ctx, spec.encoder);
  else buildDecoder(ctx, spec.decoder);
  g.save(path.join(outDir, 'model.onnx'));
}

function cacheKey(spec: ModelSpec, part: GraphPart, precision: string): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ builder: GRAPH_VERSIONS[part], part, precision }));
  h.update(fs.readFileSync(path.join(spec.dir, 'config.json')));
  for (const file of spec.weightFiles) {
    h.update(`${path.basename(file)}:${fs.statSync(file).size}:`);
    h.update(JSON.stringify(readHeader(file).map((t) => [t.name, t.dtype, t.shape, t.offset])));
  }
  return h.digest('hex').slice(0, 16);
}
