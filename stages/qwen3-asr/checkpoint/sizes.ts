// Architecture numbers of the checkpoints the generator can write. 0.6b and
// 1.7b are the published Qwen3-ASR shapes (qwen3-asr-model-facts.md §1); tiny
// keeps every structural feature (GQA, q/k norms, windowed encoder attention,
// a sharded index) at a size a unit test runs in milliseconds.
export type CheckpointSize = 'tiny' | '0.6b' | '1.7b';

export interface CheckpointShape {
  audio: { dModel: number; layers: number; heads: number; ffn: number; downsample: number; outputDim: number };
  text: { hidden: number; intermediate: number; layers: number; heads: number; kvHeads: number; headDim: number; vocabSize: number | 'fit' };
  /** Shard count of model-*.safetensors; 1 writes a single model.safetensors. */
  shards: number;
  /** Standard deviation of the random weights. */
  std: number;
}

export const CHECKPOINT_SHAPES: Record<CheckpointSize, CheckpointShape> = {
  tiny: {
    audio: { dModel: 64, layers: 2, heads: 4, ffn: 128, downsample: 16, outputDim: 64 },
    text: { hidden: 64, intermediate: 128, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocabSize: 'fit' },
    shards: 2,
    // Peaky logits keep greedy decoding away from near-ties in numerical tests.
    std: 0.15,
  },
  '0.6b': {
    audio: { dModel: 896, layers: 18, heads: 14, ffn: 3584, downsample: 480, outputDim: 1024 },
    text: { hidden: 1024, intermediate: 3072, layers: 28, heads: 16, kvHeads: 8, headDim: 128, vocabSize: 151936 },
    shards: 1,
    std: 0.02,
  },
  '1.7b': {
    audio: { dModel: 1024, layers: 24, heads: 16, ffn: 4096, downsample: 480, outputDim: 2048 },
    text: { hidden: 2048, intermediate: 6144, layers: 28, heads: 16, kvHeads: 8, headDim: 128, vocabSize: 151936 },
    shards: 2,
    std: 0.02,
  },
};
