// Builds the encoder and decoder ONNX graphs of a checkpoint and caches them on
// disk. A cache entry is keyed by config.json, the content of the weights the
// part reads, the precision and the builder version; it is written into a temporary
// folder and renamed into place, so a half-written entry is never used and a
// second start only opens the files.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GraphBuilder } from '../../../src/onnx/graph-builder.js';
import { contentDigest, type ByteRange } from '../../../src/weights/digest.js';
import type { BlockContext, LinearPrecision } from '../../common/graph/context.js';
import { buildDecoder } from './decoder.js';
import { buildEncoder } from './encoder.js';
import { loadModelSpec, type ModelSpec } from './model-spec.js';

/** Bump a part's version when its graph structure or weight encoding changes. */
export const GRAPH_VERSIONS = { encoder: 1, decoder: 4 } as const;

export type GraphPart = 'encoder' | 'decoder';

export interface ConvertProgress { part: GraphPart; tensor: string; doneElements: number; totalElements: number }

export interface HashProgress { part: GraphPart; doneBytes: number; totalBytes: number }

export interface ConvertOptions {
  modelPath: string;
  cacheDir: string;
  precision: LinearPrecision;
  onProgress?: (p: ConvertProgress) => void;
  /** Hashing weights for the cache key (first start, or after the files changed). */
  onHashProgress?: (p: HashProgress) => void;
}

export async function convertModel(opts: ConvertOptions): Promise<{ encoderPath: string; decoderPath: string }> {
  const spec = loadModelSpec(opts.modelPath);
  return { encoderPath: ensureGraph(spec, 'encoder', opts), decoderPath: ensureGraph(spec, 'decoder', opts) };
}

/** Path of the cached graph for one part, building it first when missing. */
export function ensureGraph(spec: ModelSpec, part: GraphPart, opts: ConvertOptions): string {
  const dir = path.join(opts.cacheDir, `qwen3-asr-${part}-${opts.precision}-${cacheKey(spec, part, opts)}`);
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

/**
 * The key covers the builder version, precision, config.json, and the names, dtypes, shapes and
 * bytes of every tensor the part reads (src/weights/digest.ts: hashed once, remembered in a
 * sidecar per part, so encoder and decoder stages starting together hash disjoint bytes).
 */
function cacheKey(spec: ModelSpec, part: GraphPart, opts: ConvertOptions): string {
  const tensors = spec.partTensors(part);
  const ranges = new Map<string, ByteRange[]>();
  for (const t of tensors) ranges.set(t.file, [...(ranges.get(t.file) ?? []), { offset: t.offset, length: t.byteLength }]);
  const weights = contentDigest(ranges, {
    sidecar: path.join(opts.cacheDir, `weight-digests.${part}.json`),
    onProgress: (doneBytes, totalBytes) => opts.onHashProgress?.({ part, doneBytes, totalBytes }),
  });
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ builder: GRAPH_VERSIONS[part], part, precision: opts.precision }));
  h.update(fs.readFileSync(path.join(spec.dir, 'config.json')));
  h.update(JSON.stringify(tensors.map((t) => [t.name, t.dtype, t.shape])));
  h.update(weights);
  return h.digest('hex').slice(0, 16);
}
