// Reads a Qwen3-ASR checkpoint's config.json in either published layout and
// returns one normalised shape, plus the mapping from the canonical (original
// `thinker.*`) tensor names to the names stored in the checkpoint.
//  - original (Qwen/Qwen3-ASR-*): nested thinker_config.{audio_config,text_config}
//  - transformers "-hf" (Qwen/Qwen3-ASR-*-hf): audio_config/text_config at the top
//    level, some audio keys renamed, tensors renamed by the HF converter.
import fs from 'node:fs';
import path from 'node:path';
import { StageError } from '../../src/runtime/contracts.js';

export interface Qwen3AsrAudioConfig {
  numMelBins: number;
  dModel: number;
  layers: number;
  heads: number;
  ffnDim: number;
  downsampleHiddenSize: number;
  outputDim: number;
  nWindow: number;
  nWindowInfer: number;
}

export interface Qwen3AsrTextConfig {
  vocabSize: number;
  hidden: number;
  intermediate: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositions: number;
  /** The output head is embed_tokens (see tiedFlag for where this is read). */
  tieWordEmbeddings: boolean;
}

export interface Qwen3AsrConfig {
  dir: string;
  layout: 'original' | 'hf';
  audio: Qwen3AsrAudioConfig;
  text: Qwen3AsrTextConfig;
  audioTokenId: number;
  audioStartTokenId: number;
  audioEndTokenId: number;
  /** Generation stops at any of these. */
  eosTokenIds: number[];
  supportedLanguages: string[];
  /** Canonical `thinker.*` tensor name → the name stored in this checkpoint. */
  tensorName(canonical: string): string;
}

type Json = Record<string, any>;

function readJson(file: string): Json {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new StageError('ERR_MODEL_CONFIG', `cannot read ${path.basename(file)} in the model folder: ${(err as Error).message}`, 'internal');
  }
}

function pick<T>(obj: Json, keys: string[], what: string, fallback?: T): T {
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k] as T;
  if (fallback !== undefined) return fallback;
  throw new StageError('ERR_MODEL_CONFIG', `config.json lacks ${what} (looked for ${keys.join(', ')})`, 'internal');
}

/** HF converter renames, applied in order (first match wins). */
const HF_RENAMES: [string, string][] = [
  ['thinker.audio_tower.proj1.', 'model.multi_modal_projector.linear_1.'],
  ['thinker.audio_tower.proj2.', 'model.multi_modal_projector.linear_2.'],
  ['thinker.model.', 'model.language_model.'],
  ['thinker.lm_head.', 'lm_head.'],
  ['thinker.', 'model.'],
];

function hfName(canonical: string): string {
  for (const [from, to] of HF_RENAMES) if (canonical.startsWith(from)) return to + canonical.slice(from.length);
  return canonical;
}

/**
 * Id of an added token as the tokenizer files list it. "-hf" configs carry only
 * audio_token_id (the converter drops the start/end ids), so those come from here.
 */
function addedTokenId(dir: string, content: string): number | undefined {
  const configFile = path.join(dir, 'tokenizer_config.json');
  if (fs.existsSync(configFile)) {
    const decoder: Json = readJson(configFile).added_tokens_decoder ?? {};
    const hit = Object.entries(decoder).find(([, t]) => t.content === content);
    if (hit) return Number(hit[0]);
  }
  const jsonFile = path.join(dir, 'tokenizer.json');
  if (!fs.existsSync(jsonFile)) return undefined;
  return (readJson(jsonFile).added_tokens as Json[] | undefined)?.find((t) => t.content === content)?.id;
}

function tokenIdOf(dir: string, config: Json, key: string, content: string): number {
  if (typeof config[key] === 'number') return config[key];
  const id = addedTokenId(dir, content);
  if (id === undefined) throw new StageError('ERR_MODEL_CONFIG', `config.json lacks ${key} and the tokenizer files have no ${content} token`, 'internal');
  return id;
}

/** generation_config.json's eos ids, else the config's, else Qwen's chat end tokens from the tokenizer. */
function eosTokenIds(dir: string, configs: Json[]): number[] {
  for (const c of configs) if (c.eos_token_id !== undefined && c.eos_token_id !== null) return [c.eos_token_id].flat();
  return ['<|im_end|>', '<|endoftext|>'].map((t) => addedTokenId(dir, t)).filter((id): id is number => id !== undefined);
}

/**
 * `tie_word_embeddings` where each official implementation reads it, with its default:
 * original repos go through qwen-asr's Qwen3ASRTextConfig (thinker_config.text_config,
 * default false; vLLM's Qwen3ForCausalLM reads the same object), "-hf" repos through
 * transformers' Qwen3ASRConfig, whose tying looks at the top-level field (default true).
 */
function tiedFlag(layout: 'original' | 'hf', root: Json, text: Json): boolean {
  const value = layout === 'original' ? text.tie_word_embeddings : root.tie_word_embeddings;
  return value === undefined || value === null ? layout === 'hf' : Boolean(value);
}

export function loadQwen3AsrConfig(dir: string): Qwen3AsrConfig {
  const root = readJson(path.join(dir, 'config.json'));
  const layout = root.thinker_config ? 'original' : 'hf';
  const th: Json = root.thinker_config ?? root;
  const a: Json = th.audio_config;
  const t: Json = th.text_config;
  if (!a || !t) throw new StageError('ERR_MODEL_CONFIG', `${dir}/config.json has no audio_config/text_config: not a Qwen3-ASR checkpoint`, 'internal');
  const genFile = path.join(dir, 'generation_config.json');
  const gen = fs.existsSync(genFile) ? readJson(genFile) : {};
  const hidden = pick<number>(t, ['hidden_size'], 'text_config.hidden_size');
  const heads = pick<number>(t, ['num_attention_heads'], 'text_config.num_attention_heads');
  const dModel = pick<number>(a, ['d_model', 'hidden_size'], 'audio_config.d_model');
  return {
    dir,
    layout,
    audio: {
      numMelBins: pick(a, ['num_mel_bins'], 'audio num_mel_bins', 128),
      dModel,
      layers: pick(a, ['encoder_layers', 'num_hidden_layers'], 'audio encoder_layers'),
      heads: pick(a, ['encoder_attention_heads', 'num_attention_heads'], 'audio encoder_attention_heads'),
      ffnDim: pick(a, ['encoder_ffn_dim', 'intermediate_size'], 'audio encoder_ffn_dim'),
      downsampleHiddenSize: pick(a, ['downsample_hidden_size'], 'audio downsample_hidden_size'),
      outputDim: pick(a, ['output_dim'], 'audio output_dim', hidden),
      nWindow: pick(a, ['n_window'], 'audio n_window'),
      nWindowInfer: pick(a, ['n_window_infer'], 'audio n_window_infer'),
    },
    text: {
      vocabSize: pick(t, ['vocab_size'], 'text vocab_size'),
      hidden,
      intermediate: pick(t, ['intermediate_size'], 'text intermediate_size'),
      layers: pick(t, ['num_hidden_layers'], 'text num_hidden_layers'),
      heads,
      kvHeads: pick(t, ['num_key_value_heads'], 'text num_key_value_heads', heads),
      headDim: pick(t, ['head_dim'], 'text head_dim', hidden / heads),
      rmsNormEps: pick(t, ['rms_norm_eps'], 'text rms_norm_eps', 1e-6),
      ropeTheta: pick(t, ['rope_theta'], 'text rope_theta', (t.rope_parameters ?? t.rope_scaling ?? {}).rope_theta ?? 1e6),
      maxPositions: pick(t, ['max_position_embeddings'], 'text max_position_embeddings', 65536),
      tieWordEmbeddings: tiedFlag(layout, root, t),
    },
    audioTokenId: pick(th, ['audio_token_id', 'audio_token_index'], 'audio_token_id'),
    audioStartTokenId: tokenIdOf(dir, th, 'audio_start_token_id', '<|audio_start|>'),
    audioEndTokenId: tokenIdOf(dir, th, 'audio_end_token_id', '<|audio_end|>'),
    eosTokenIds: eosTokenIds(dir, [gen, th, root]),
    supportedLanguages: root.support_languages ?? [],
    tensorName: layout === 'original' ? (n) => n : hfName,
  };
}
