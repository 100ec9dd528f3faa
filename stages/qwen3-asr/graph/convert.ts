// The Qwen3-ASR graph recipe for the shared graph cache (common/graph/cache.ts):
// which tensors each part reads, what its cache key covers, and which block
// builders make it. Entries are named qwen3-asr-<part>-<precision>-<key>.
import path from 'node:path';
import type { LinearPrecision } from '../../common/graph/context.js';
import { ensureCachedGraph, graphCacheKey, writeGraph, type ConvertProgress, type HashProgress } from '../../common/graph/cache.js';
import { buildDecoder } from './decoder.js';
import { buildEncoder } from './encoder.js';
import { loadModelSpec, type ModelSpec } from './model-spec.js';

/** Bump a part's version when its graph structure or weight encoding changes. */
export const GRAPH_VERSIONS = { encoder: 2, decoder: 4 } as const;

export type GraphPart = 'encoder' | 'decoder';

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
  const key = graphCacheKey({
    part,
    recipe: { builder: GRAPH_VERSIONS[part], part, precision: opts.precision },
    files: [path.join(spec.dir, 'config.json')],
    tensors: spec.partTensors(part),
    cacheDir: opts.cacheDir,
    onHashProgress: opts.onHashProgress,
  });
  return ensureCachedGraph(opts.cacheDir, `qwen3-asr-${part}-${opts.precision}-${key}`, (outDir) =>
    writeGraph(outDir, {
      name: `qwen3_asr_${part}`,
      part,
      weights: spec.weights,
      precision: opts.precision,
      totalElements: spec.partElements(part),
      onProgress: opts.onProgress,
      build: (ctx) => (part === 'encoder' ? buildEncoder(ctx, spec.encoder) : buildDecoder(ctx, spec.decoder)),
    }),
  );
}
