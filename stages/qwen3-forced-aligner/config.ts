// Reads a Qwen3-ForcedAligner checkpoint in either published layout. The
// aligner is Qwen3-ASR's architecture (same config shape, read by
// ../qwen3-asr/config.ts) with a classification head over timestamp classes:
//  - original (Qwen/Qwen3-ForcedAligner-0.6B): thinker_config.model_type
//    "qwen3_forced_aligner", thinker_config.classify_num, top-level
//    timestamp_token_id and timestamp_segment_time (ms per class); the head is
//    `thinker.lm_head.weight` [classify_num, hidden].
//  - "-hf" (Qwen/Qwen3-ForcedAligner-0.6B-hf, transformers
//    Qwen3ASRForTokenClassification): flattened config with timestamp_token_id,
//    the head `score.weight` [num_labels, hidden] (no bias unless
//    token_classification_bias), and timestamp_segment_time a processor
//    argument (processor_config.json; the processor's default is 80 ms).
// The number of classes is taken from the head tensor itself, so the config and
// the weights cannot disagree.
import fs from 'node:fs';
import path from 'node:path';
import { StageError } from '../../src/runtime/contracts.js';
import { loadQwen3AsrConfig, type Qwen3AsrConfig } from '../qwen3-asr/config.js';
import { LM_HEAD } from '../qwen3-asr/graph/names.js';

/** transformers' Qwen3ASRProcessor default for timestamp_segment_time. */
const DEFAULT_SEGMENT_MS = 80;
/** The -hf name of the head (GenericForTokenClassification.score). */
const HF_HEAD = 'score.weight';

export interface AlignerConfig extends Qwen3AsrConfig {
  /** <timestamp>: the slots whose class is a time. */
  timestampTokenId: number;
  /** Milliseconds per class. */
  segmentMs: number;
  /** Stored name of the classification head. */
  headName: string;
}

type Json = Record<string, any>;

function readJsonIf(file: string): Json {
  if (!fs.existsSync(file)) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StageError('ERR_MODEL_CONFIG', `cannot read ${path.basename(file)}: ${(err as Error).message}`, 'internal');
  }
}

function firstNumber(sources: Json[], key: string): number | undefined {
  for (const s of sources) if (typeof s?.[key] === 'number') return s[key];
  return undefined;
}

export function loadAlignerConfig(dir: string): AlignerConfig {
  const base = loadQwen3AsrConfig(dir);
  const root = readJsonIf(path.join(dir, 'config.json'));
  const th: Json = root.thinker_config ?? root;
  if (base.layout === 'original' && !String(th.model_type ?? '').includes('forced_aligner')) {
    throw new StageError('ERR_MODEL_CONFIG', `${dir} is not a forced aligner: thinker_config.model_type is ${JSON.stringify(th.model_type)}, expected "qwen3_forced_aligner"`, 'internal');
  }
  const processor = readJsonIf(path.join(dir, 'processor_config.json'));
  const timestampTokenId = firstNumber([root, th], 'timestamp_token_id');
  if (timestampTokenId === undefined) throw new StageError('ERR_MODEL_CONFIG', `${dir}/config.json has no timestamp_token_id: not a forced aligner checkpoint`, 'internal');
  const segmentMs = firstNumber([root, th, processor], 'timestamp_segment_time') ?? DEFAULT_SEGMENT_MS;
  const headName = base.layout === 'original' ? LM_HEAD : HF_HEAD;
  const tensorName = (n: string) => (n === LM_HEAD ? headName : base.tensorName(n));
  return { ...base, timestampTokenId, segmentMs, headName, tensorName };
}
