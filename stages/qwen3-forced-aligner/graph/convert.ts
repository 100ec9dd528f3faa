// The aligner's graph recipe for the shared graph cache (common/graph/cache.ts):
// the audio encoder is Qwen3-ASR's builder (imported), the classifier is
// graph/classifier.ts. Entries are named qwen3-forced-aligner-<part>-<precision>-<key>.
import path from 'node:path';
import type { LinearPrecision } from '../../common/graph/context.js';
import { ensureCachedGraph, graphCacheKey, writeGraph, type ConvertProgress, type HashProgress } from '../../common/graph/cache.js';
import { buildEncoder } from '../../qwen3-asr/graph/encoder.js';
import { GRAPH_SOURCES as ASR_GRAPH_SOURCES, GRAPH_VERSIONS as ASR_GRAPH_VERSIONS } from '../../qwen3-asr/graph/convert.js';
import { buildClassifier } from './classifier.js';
import type { AlignerPart, AlignerSpec } from './model-spec.js';

/** Bump a part's version when its graph structure or weight encoding changes (the encoder follows Qwen3-ASR's). */
export const GRAPH_VERSIONS = { encoder: ASR_GRAPH_VERSIONS.encoder, classifier: 2 } as const;

export interface AlignerConvertOptions {
  cacheDir: string;
  precision: LinearPrecision;
  onProgress?: (p: ConvertProgress) => void;
  onHashProgress?: (p: HashProgress) => void;
}

/** Path of the cached graph for one part, building it first when missing. */
export function ensureAlignerGraph(spec: AlignerSpec, part: AlignerPart, opts: AlignerConvertOptions): string {
  const key = graphCacheKey({
    part: `aligner-${part}`,
    recipe: { model: 'qwen3-forced-aligner', builder: GRAPH_VERSIONS[part], part, precision: opts.precision },
    files: [path.join(spec.dir, 'config.json')],
    sources: [...ASR_GRAPH_SOURCES, new URL('./', import.meta.url)],
    tensors: spec.partTensors(part),
    cacheDir: opts.cacheDir,
    onHashProgress: opts.onHashProgress,
  });
  return ensureCachedGraph(opts.cacheDir, `qwen3-forced-aligner-${part}-${opts.precision}-${key}`, (outDir) =>
    writeGraph(outDir, {
      name: `qwen3_forced_aligner_${part}`,
      part,
      weights: spec.weights,
      precision: opts.precision,
      totalElements: spec.partElements(part),
      onProgress: opts.onProgress,
      build: (ctx) => (part === 'encoder' ? buildEncoder(ctx, spec.encoder) : buildClassifier(ctx, spec.classifier)),
    }),
  );
}
