// Everything the converters need to know about one checkpoint folder: the
// architecture numbers, a weight source in canonical tensor names, and the
// tensors each graph part reads (for the cache key and progress).
import { SafetensorsCheckpoint, type TensorInfo } from '../../common/weights/safetensors.js';
import type { WeightSource } from '../../common/graph/context.js';
import { loadQwen3AsrConfig, type Qwen3AsrConfig } from '../config.js';
import type { DecoderDims, EncoderDims } from './dims.js';
import { ENC, LM_HEAD } from './names.js';
import { outputHead, type OutputHead } from './output-head.js';

/** LayerNorm epsilon of the audio encoder (not in config.json; nn.LayerNorm's default). */
const ENCODER_LN_EPS = 1e-5;

export interface ModelSpec {
  dir: string;
  encoder: EncoderDims;
  decoder: DecoderDims;
  weights: WeightSource;
  /** Stored tensors a part reads (the cache key covers their bytes). */
  partTensors(part: 'encoder' | 'decoder'): TensorInfo[];
  /** Weight elements a part reads (progress total). */
  partElements(part: 'encoder' | 'decoder'): number;
}

export function encoderDims(c: Qwen3AsrConfig): EncoderDims {
  return { ...c.audio, layerNormEps: ENCODER_LN_EPS };
}

export function decoderDims(c: Qwen3AsrConfig, head: OutputHead): DecoderDims {
  const { tieWordEmbeddings: _tied, ...text } = c.text;
  return { ...text, audioTokenId: c.audioTokenId, head };
}

/**
 * A weight source in canonical (`thinker.*`) names over a checkpoint whose stored names `resolve`
 * gives, and which stored tensors belong to the audio encoder (whatever the canonical audio-tower
 * names map to: the -hf layout moves the projector). Shared by every model on this layout.
 */
export function canonicalWeights(ckpt: SafetensorsCheckpoint, resolve: (canonical: string) => string): { weights: WeightSource; isEncoder(stored: string): boolean } {
  const encoderPrefixes = [`${ENC}.conv2d1.`, `${ENC}.proj1.`, `${ENC}.proj2.`].map((n) => resolve(n).split('.').slice(0, -2).join('.') + '.');
  return {
    weights: {
      has: (n) => ckpt.has(resolve(n)),
      shape: (n) => ckpt.info(resolve(n)).shape,
      float32: (n) => ckpt.float32(resolve(n)),
    },
    isEncoder: (name) => encoderPrefixes.some((p) => name.startsWith(p)),
  };
}

export function loadModelSpec(dir: string): ModelSpec {
  const cfg = loadQwen3AsrConfig(dir);
  const ckpt = new SafetensorsCheckpoint(dir);
  const resolve = (n: string) => cfg.tensorName(n);
  const { weights, isEncoder } = canonicalWeights(ckpt, resolve);
  const head = outputHead(cfg, ckpt);
  const count = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  // The decoder reads every text tensor but a tied checkpoint's stored lm_head.
  const tensors = (part: 'encoder' | 'decoder') => [...ckpt.tensors.values()]
    .filter((t) => isEncoder(t.name) === (part === 'encoder') && (t.name !== resolve(LM_HEAD) || head === LM_HEAD));
  return {
    dir, encoder: encoderDims(cfg), decoder: decoderDims(cfg, head), weights,
    partTensors: tensors,
    // A tied head reads embed_tokens a second time.
    partElements: (part) => tensors(part).reduce((a, t) => a + count(t.shape), part === 'decoder' && head !== LM_HEAD ? count(weights.shape(head)) : 0),
  };
}
