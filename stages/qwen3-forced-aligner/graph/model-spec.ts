// What the aligner's graph recipe needs from one checkpoint folder: encoder dims
// (Qwen3-ASR's, by import), classifier dims, a weight source in canonical
// (`thinker.*`) names, and the tensors each part reads.
import { SafetensorsCheckpoint, type TensorInfo } from '../../common/weights/safetensors.js';
import type { WeightSource } from '../../common/graph/context.js';
import { canonicalWeights, encoderDims } from '../../qwen3-asr/graph/model-spec.js';
import type { EncoderDims } from '../../qwen3-asr/graph/dims.js';
import { StageError } from '../../../src/runtime/contracts.js';
import { loadAlignerConfig, type AlignerConfig } from '../config.js';
import type { ClassifierDims } from './classifier.js';

export type AlignerPart = 'encoder' | 'classifier';

export interface AlignerSpec {
  dir: string;
  config: AlignerConfig;
  encoder: EncoderDims;
  classifier: ClassifierDims;
  weights: WeightSource;
  partTensors(part: AlignerPart): TensorInfo[];
  partElements(part: AlignerPart): number;
}

export function loadAlignerSpec(dir: string): AlignerSpec {
  const cfg = loadAlignerConfig(dir);
  const ckpt = new SafetensorsCheckpoint(dir);
  const resolve = (n: string) => cfg.tensorName(n);
  if (!ckpt.has(cfg.headName)) throw new StageError('ERR_MODEL_CONFIG', `${dir} has no classification head ${cfg.headName}`, 'internal');
  const [classes, headHidden] = ckpt.info(cfg.headName).shape;
  if (headHidden !== cfg.text.hidden) throw new StageError('ERR_MODEL_CONFIG', `${cfg.headName} is [${classes}, ${headHidden}] but hidden_size is ${cfg.text.hidden}`, 'internal');
  const { weights, isEncoder } = canonicalWeights(ckpt, resolve);
  const tensors = (part: AlignerPart) => [...ckpt.tensors.values()].filter((t) => isEncoder(t.name) === (part === 'encoder'));
  const count = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  const { tieWordEmbeddings: _tied, vocabSize: _vocab, ...text } = cfg.text;
  return {
    dir, config: cfg, encoder: encoderDims(cfg), weights,
    classifier: { ...text, audioTokenId: cfg.audioTokenId, classes },
    partTensors: tensors,
    partElements: (part) => tensors(part).reduce((a, t) => a + count(t.shape), 0),
  };
}

