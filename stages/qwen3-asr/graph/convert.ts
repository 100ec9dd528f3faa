// The Qwen3-ASR graph recipe for the shared graph cache (common/graph/cache.ts):
// which tensors each part reads, what its cache key covers, and which block
// builders make it. Entries are named qwen3-asr-<part>-<precision|int8-pc>[-kv16][-gqa]-<key>
// (-pc: int8 per-channel kernel, common/graph/context.ts QuantKernel; -kv16: a
// decoder whose KV cache is float16; -gqa: one that updates it in place).
import path from 'node:path';
import type { KvCacheType } from '../../common/graph/attention.js';
import type { LinearPrecision, QuantKernel } from '../../common/graph/context.js';
import { int8WeightLimit } from '../../common/onnx/cpu-features.js';
import { ensureCachedGraph, graphCacheKey, writeGraph, type ConvertProgress, type HashProgress } from '../../common/graph/cache.js';
import { buildDecoder } from './decoder.js';
import { buildEncoder } from './encoder.js';
import { loadModelSpec, type ModelSpec } from './model-spec.js';

/** Bump a part's version when its graph structure or weight encoding changes (the key also hashes GRAPH_SOURCES). */
export const GRAPH_VERSIONS = { encoder: 3, decoder: 5 } as const;

/** The modules that build Qwen3-ASR graphs: the shared blocks, the graph builder, this folder. */
export const GRAPH_SOURCES = [new URL('./', import.meta.url), new URL('../../common/graph/', import.meta.url), new URL('../../common/onnx/graph-builder.js', import.meta.url)];

export type GraphPart = 'encoder' | 'decoder';

export interface ConvertOptions {
  modelPath: string;
  cacheDir: string;
  precision: LinearPrecision;
  /** int8/int4 linear kernel; 'blockwise' (MatMulNBits) when absent. */
  quantKernel?: QuantKernel;
  /** Element type of the decoder's KV cache (common/graph/attention.ts); float32 when absent. */
  kvCache?: KvCacheType;
  /** The decoder updates its (float32) cache in place with GroupQueryAttention (graph/decoder.ts DecoderCache). */
  kvInPlace?: boolean;
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
  const perChannel = opts.quantKernel === 'per-channel';
  if (perChannel && opts.precision !== 'int8' && opts.precision !== 'int4') {
    throw new RangeError(`the per-channel int8 kernel needs precision int8 or int4, not ${opts.precision}`);
  }
  const kv = part === 'decoder' ? opts.kvCache ?? 'float32' : 'float32';
  const inPlace = part === 'decoder' && opts.kvInPlace === true;
  const key = graphCacheKey({
    part,
    // The blockwise recipe keeps its old form, so graphs cached before the kernel choice stay valid.
    // The weight range follows the CPU (onnx/cpu-features.ts), so each kind of machine builds its own.
    // Per-channel weights are int8 whatever the precision, so int8 and int4 share one entry.
    recipe: { builder: GRAPH_VERSIONS[part], part, precision: perChannel ? 'int8' : opts.precision, ...(perChannel ? { quantKernel: 'per-channel', int8Limit: int8WeightLimit() } : {}), ...(kv !== 'float32' ? { kvCache: kv } : {}), ...(inPlace ? { kvInPlace: true } : {}) },
    files: [path.join(spec.dir, 'config.json')],
    sources: GRAPH_SOURCES,
    tensors: spec.partTensors(part),
    cacheDir: opts.cacheDir,
    onHashProgress: opts.onHashProgress,
  });
  return ensureCachedGraph(opts.cacheDir, `qwen3-asr-${part}-${perChannel ? 'int8-pc' : opts.precision}${kv === 'float16' ? '-kv16' : ''}${inPlace ? '-gqa' : ''}-${key}`, (outDir) =>
    writeGraph(outDir, {
      name: `qwen3_asr_${part}`,
      part,
      weights: spec.weights,
      precision: opts.precision,
      quantKernel: opts.quantKernel,
      totalElements: spec.partElements(part),
      onProgress: opts.onProgress,
      build: (ctx) => (part === 'encoder' ? buildEncoder(ctx, spec.encoder) : buildDecoder(ctx, spec.decoder, { type: kv, inPlace })),
    }),
  );
}
