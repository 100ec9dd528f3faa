// Test fixture: a tiny random checkpoint (real original layout) generated under
// test/.tmp/<name>/, with its config, dims and float64 reference weights.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../../src/util/paths.js';
import { makeCheckpoint } from '../checkpoint/make-checkpoint.js';
import { loadQwen3AsrConfig, type Qwen3AsrConfig } from '../config.js';
import type { DecoderDims, EncoderDims } from '../graph/dims.js';
import { loadModelSpec } from '../graph/model-spec.js';
import { ReferenceWeights } from './weights.js';

export interface TinyModel {
  dir: string;
  /** A fresh, empty graph cache folder. */
  cacheDir: string;
  config: Qwen3AsrConfig;
  encoder: EncoderDims;
  decoder: DecoderDims;
  reference: ReferenceWeights;
}

/** One folder per test file, so parallel test files never share one. */
export async function tinyModel(name: string, seed = 1): Promise<TinyModel> {
  const root = path.join(repoRoot(), 'test', '.tmp', name);
  fs.rmSync(root, { recursive: true, force: true });
  const dir = path.join(root, 'checkpoint');
  await makeCheckpoint({ size: 'tiny', out: dir, seed });
  return { ...loadTinyModel(dir), cacheDir: path.join(root, 'cache') };
}

/** A checkpoint folder as the tests use it (config, dims, float64 weights); the cache folder is the caller's. */
export function loadTinyModel(dir: string): Omit<TinyModel, 'cacheDir'> {
  const config = loadQwen3AsrConfig(dir);
  const spec = loadModelSpec(dir);
  return {
    dir, config, encoder: spec.encoder, decoder: spec.decoder,
    reference: new ReferenceWeights(dir, (n) => config.tensorName(n)),
  };
}

/** Deterministic uniform values in [-scale, scale). */
export function seededValues(count: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: count }, () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return (s / 2 ** 32 - 0.5) * 2 * scale;
  });
}

export function argmax(x: ArrayLike<number>, from = 0, to = x.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (x[i] > x[best]) best = i;
  return best - from;
}
