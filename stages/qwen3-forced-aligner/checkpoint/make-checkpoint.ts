// Writes a Qwen3-ForcedAligner checkpoint with random weights in the official
// original layout (Qwen/Qwen3-ForcedAligner-0.6B): Qwen3-ASR's layout and files
// (its generator, imported) with a thinker_config of model_type
// "qwen3_forced_aligner", `classify_num` timestamp classes, an untied
// `thinker.lm_head.weight` [classify_num, hidden], and the top-level
// `timestamp_token_id` / `timestamp_segment_time` the official aligner reads
// (qwen_asr/inference/qwen3_forced_aligner.py: model.config.timestamp_*).
import { makeCheckpoint as makeQwen3AsrCheckpoint, type WeightSpec } from '../../qwen3-asr/checkpoint/make-checkpoint.js';
import { specialId } from '../../qwen3-asr/checkpoint/bpe-vocab.js';
import { CHECKPOINT_SHAPES, type CheckpointShape } from '../../qwen3-asr/checkpoint/sizes.js';
import { LM_HEAD } from '../../qwen3-asr/graph/names.js';
import { ALIGNER_LANGUAGES } from '../text/languages.js';

export type AlignerSize = 'tiny' | '0.6b';

/** <timestamp> in Qwen's vocabulary (qwen3-asr-model-facts.md §6). */
const TIMESTAMP_TOKEN = 151705;
/** Milliseconds per class in the released checkpoint. */
export const TIMESTAMP_SEGMENT_MS = 80;

interface AlignerShape { shape: CheckpointShape; classes: number }

export const ALIGNER_SHAPES: Record<AlignerSize, AlignerShape> = {
  // 500 classes = 40 s: every test clip fits, and the head stays small (fixtures hold the checkpoint).
  tiny: { shape: CHECKPOINT_SHAPES.tiny, classes: 500 },
  // The AuT encoder at 1.7B size (24 layers, d 1024, output 1024) before a Qwen3-0.6B decoder
  // (vocab 152064); 5000 classes of 80 ms (qwen3-asr-model-facts.md §9).
  '0.6b': {
    shape: {
      audio: { ...CHECKPOINT_SHAPES['1.7b'].audio, outputDim: 1024 },
      text: { ...CHECKPOINT_SHAPES['0.6b'].text, vocabSize: 152064 },
      shards: 1,
      std: 0.02,
    },
    classes: 5000,
  },
};

export interface MakeAlignerOptions {
  size: AlignerSize;
  out: string;
  seed?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export async function makeAlignerCheckpoint(opts: MakeAlignerOptions): Promise<void> {
  const spec = ALIGNER_SHAPES[opts.size];
  if (!spec) throw new Error(`unknown aligner size ${opts.size}; expected one of ${Object.keys(ALIGNER_SHAPES).join(', ')}`);
  await makeQwen3AsrCheckpoint({
    size: opts.size === 'tiny' ? 'tiny' : '0.6b',
    out: opts.out,
    seed: opts.seed,
    onProgress: opts.onProgress,
    variant: {
      shape: spec.shape,
      config: (json) => {
        const th = json.thinker_config;
        // The tiny vocabulary packs the specials after its own tokens: the audio token's offset says where.
        const base = th.audio_token_id === 151676 ? null : th.audio_token_id - (151676 - 151643);
        return {
          ...json,
          thinker_config: {
            ...th, model_type: 'qwen3_forced_aligner', classify_num: spec.classes,
            text_config: { ...th.text_config, tie_word_embeddings: false },
          },
          support_languages: Object.keys(ALIGNER_LANGUAGES),
          timestamp_token_id: specialId(TIMESTAMP_TOKEN, base),
          timestamp_segment_time: TIMESTAMP_SEGMENT_MS,
        };
      },
      tensors: (specs: WeightSpec[]) => specs.map((t) => (t.name === LM_HEAD ? { ...t, shape: [spec.classes, t.shape[1]] } : t)),
    },
  });
}
