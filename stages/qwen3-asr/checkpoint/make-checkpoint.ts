// Writes a Qwen3-ASR checkpoint with random weights in the exact layout of the
// official Hugging Face repos (config.json with thinker_config, bf16
// safetensors with `thinker.` names, tokenizer files, preprocessor and chat
// template). Tests use the tiny size; benchmarks the real shapes, because
// random weights cost the same time as trained ones.
import fs from 'node:fs';
import path from 'node:path';
import { float32ToBf16, byteSize, writeSafetensorsStreaming, type TensorSpec } from '../../common/weights/safetensors.js';
import { gapFreeVocab, learnBpe, specialId, tokenizerConfig, QWEN_FIRST_SPECIAL, QWEN_SPECIAL_TOKENS } from './bpe-vocab.js';
import { EMBED, LM_HEAD } from '../graph/names.js';
import { SUPPORTED_LANGUAGES } from '../text/languages.js';
import { CHECKPOINT_SHAPES, type CheckpointShape, type CheckpointSize } from './sizes.js';

export interface MakeCheckpointOptions {
  size: CheckpointSize;
  out: string;
  seed?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** A model built on Qwen3-ASR's layout (e.g. the forced aligner): its shape instead of `size`'s, and edits to config.json and the tensor list. */
  variant?: CheckpointVariant;
}

/** What a model sharing this layout changes: shape, config.json, tensors (a head of another size). */
export interface CheckpointVariant {
  shape: CheckpointShape;
  config(json: Record<string, any>): Record<string, unknown>;
  tensors(specs: WeightSpec[]): WeightSpec[];
}

// The original repos' chat_template.json (as ports copy it; transformers' -hf converter
// extends the same text with assistant turns): the system turn holds the context, the user
// turn one audio placeholder per audio, then the generation prompt.
const CHAT_TEMPLATE = `{%- set ns = namespace(system_text="") -%}
{%- for m in messages -%}
  {%- if m.role == 'system' -%}
    {%- if m.content is string -%}
      {%- set ns.system_text = ns.system_text + m.content -%}
    {%- else -%}
      {%- for c in m.content -%}
        {%- if c.type == 'text' and (c.text is defined) -%}
          {%- set ns.system_text = ns.system_text + c.text -%}
        {%- endif -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endif -%}
{%- endfor -%}

{%- set ns2 = namespace(audio_tokens="") -%}
{%- for m in messages -%}
  {%- if m.content is not string -%}
    {%- for c in m.content -%}
      {%- if c.type == 'audio' or ('audio' in c) or ('audio_url' in c) -%}
        {%- set ns2.audio_tokens = ns2.audio_tokens + "<|audio_start|><|audio_pad|><|audio_end|>" -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
{%- endfor -%}

{{- '<|im_start|>system\\n' + (ns.system_text if ns.system_text is string else '') + '<|im_end|>\\n' -}}
{{- '<|im_start|>user\\n' + ns2.audio_tokens + '<|im_end|>\\n' -}}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\\n' -}}
{%- endif -%}`;

/** Seeded xorshift128+ giving uniform floats; weights are uniform with the given std. */
class WeightRng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: number) {
    this.s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n & 0xffffffffffffffffn;
    this.s1 = (this.s0 ^ 0xda3e39cb94b95bdbn) * 0xbf58476d1ce4e5b9n & 0xffffffffffffffffn;
  }
  /** 32 fresh random bits. */
  private next32(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= (x << 23n) & 0xffffffffffffffffn;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return Number((this.s1 + y) & 0xffffffffn);
  }
  /** n values uniform with mean `mean` and standard deviation `std`. */
  fill(n: number, mean: number, std: number): Float32Array {
    const out = new Float32Array(n);
    const half = std * Math.sqrt(3);
    // A fast 32-bit LCG seeded from the xorshift stream per tensor: BigInt per element would be far too slow.
    let state = this.next32() >>> 0;
    for (let i = 0; i < n; i++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      out[i] = mean + (state / 4294967296 * 2 - 1) * half;
    }
    return out;
  }
}

export interface WeightSpec extends TensorSpec { mean: number }

function tensorSpecs(s: CheckpointShape, vocabSize: number): WeightSpec[] {
  const out: WeightSpec[] = [];
  const w = (name: string, shape: number[], mean = 0) => out.push({ name, dtype: 'BF16', shape, mean });
  const a = s.audio;
  const at = 'thinker.audio_tower.';
  w(`${at}conv2d1.weight`, [a.downsample, 1, 3, 3]); w(`${at}conv2d1.bias`, [a.downsample]);
  for (const c of ['conv2d2', 'conv2d3']) { w(`${at}${c}.weight`, [a.downsample, a.downsample, 3, 3]); w(`${at}${c}.bias`, [a.downsample]); }
  w(`${at}conv_out.weight`, [a.dModel, a.downsample * 16]);
  for (let i = 0; i < a.layers; i++) {
    const p = `${at}layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) { w(`${p}self_attn.${proj}.weight`, [a.dModel, a.dModel]); w(`${p}self_attn.${proj}.bias`, [a.dModel]); }
    w(`${p}self_attn_layer_norm.weight`, [a.dModel], 1); w(`${p}self_attn_layer_norm.bias`, [a.dModel]);
    w(`${p}fc1.weight`, [a.ffn, a.dModel]); w(`${p}fc1.bias`, [a.ffn]);
    w(`${p}fc2.weight`, [a.dModel, a.ffn]); w(`${p}fc2.bias`, [a.dModel]);
    w(`${p}final_layer_norm.weight`, [a.dModel], 1); w(`${p}final_layer_norm.bias`, [a.dModel]);
  }
  w(`${at}ln_post.weight`, [a.dModel], 1); w(`${at}ln_post.bias`, [a.dModel]);
  w(`${at}proj1.weight`, [a.dModel, a.dModel]); w(`${at}proj1.bias`, [a.dModel]);
  w(`${at}proj2.weight`, [a.outputDim, a.dModel]); w(`${at}proj2.bias`, [a.outputDim]);
  const t = s.text;
  w(EMBED, [vocabSize, t.hidden]);
  for (let i = 0; i < t.layers; i++) {
    const p = `thinker.model.layers.${i}.`;
    w(`${p}input_layernorm.weight`, [t.hidden], 1);
    w(`${p}self_attn.q_proj.weight`, [t.heads * t.headDim, t.hidden]);
    w(`${p}self_attn.k_proj.weight`, [t.kvHeads * t.headDim, t.hidden]);
    w(`${p}self_attn.v_proj.weight`, [t.kvHeads * t.headDim, t.hidden]);
    w(`${p}self_attn.o_proj.weight`, [t.hidden, t.heads * t.headDim]);
    w(`${p}self_attn.q_norm.weight`, [t.headDim], 1); w(`${p}self_attn.k_norm.weight`, [t.headDim], 1);
    w(`${p}post_attention_layernorm.weight`, [t.hidden], 1);
    w(`${p}mlp.gate_proj.weight`, [t.intermediate, t.hidden]);
    w(`${p}mlp.up_proj.weight`, [t.intermediate, t.hidden]);
    w(`${p}mlp.down_proj.weight`, [t.hidden, t.intermediate]);
  }
  w('thinker.model.norm.weight', [t.hidden], 1);
  w(LM_HEAD, [vocabSize, t.hidden]);
  return out;
}

function configJson(s: CheckpointShape, vocabSize: number, base: number | null): Record<string, any> {
  const id = (real: number) => specialId(real, base);
  const a = s.audio;
  const t = s.text;
  return {
    architectures: ['Qwen3ASRForConditionalGeneration'],
    model_type: 'qwen3_asr',
    support_languages: SUPPORTED_LANGUAGES,
    thinker_config: {
      model_type: 'qwen3_asr_thinker',
      audio_token_id: id(151676), audio_start_token_id: id(151669), audio_end_token_id: id(151670),
      user_token_id: 872, initializer_range: 0.02,
      // Every field qwen-asr's Qwen3ASRAudioEncoderConfig / Qwen3ASRTextConfig read (their defaults are another model's).
      audio_config: {
        model_type: 'qwen3_asr_audio_encoder', num_mel_bins: 128, d_model: a.dModel, encoder_layers: a.layers,
        encoder_attention_heads: a.heads, encoder_ffn_dim: a.ffn, output_dim: a.outputDim,
        downsample_hidden_size: a.downsample, n_window: 50, n_window_infer: 800, conv_chunksize: 500,
        max_source_positions: 1500, activation_function: 'gelu', scale_embedding: false,
        dropout: 0, attention_dropout: 0, activation_dropout: 0, initializer_range: 0.02,
      },
      text_config: {
        model_type: 'qwen3', vocab_size: vocabSize, hidden_size: t.hidden, intermediate_size: t.intermediate,
        num_hidden_layers: t.layers, num_attention_heads: t.heads, num_key_value_heads: t.kvHeads, head_dim: t.headDim,
        hidden_act: 'silu', rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 65536,
        rope_scaling: { rope_type: 'default', mrope_section: [24, 20, 20], interleaved: true, mrope_interleaved: true },
        attention_bias: false, attention_dropout: 0, initializer_range: 0.02, use_cache: true,
        tie_word_embeddings: true, torch_dtype: 'bfloat16',
      },
    },
    torch_dtype: 'bfloat16',
    transformers_version: '4.57.6',
  };
}

/** Splits tensors into `n` shards of roughly equal bytes, keeping order. */
function shard(specs: WeightSpec[], n: number): WeightSpec[][] {
  const total = specs.reduce((acc, t) => acc + byteSize(t), 0);
  const shards: WeightSpec[][] = [[]];
  let acc = 0;
  for (const t of specs) {
    if (acc >= (total / n) * shards.length && shards.length < n) shards.push([]);
    shards[shards.length - 1].push(t);
    acc += byteSize(t);
  }
  return shards;
}

export async function makeCheckpoint(opts: MakeCheckpointOptions): Promise<void> {
  const shape = opts.variant?.shape ?? CHECKPOINT_SHAPES[opts.size];
  if (!shape) throw new Error(`unknown checkpoint size ${opts.size}; expected one of ${Object.keys(CHECKPOINT_SHAPES).join(', ')}`);
  const bpe = learnBpe(opts.size === 'tiny' ? 200 : 400);
  const regular = Object.keys(bpe.vocab).length;
  const specialsSpan = QWEN_SPECIAL_TOKENS[QWEN_SPECIAL_TOKENS.length - 1][0] - QWEN_FIRST_SPECIAL + 1;
  const base = shape.text.vocabSize === 'fit' ? regular : null;
  const vocabSize = shape.text.vocabSize === 'fit' ? Math.ceil((regular + specialsSpan) / 64) * 64 : shape.text.vocabSize;
  fs.mkdirSync(opts.out, { recursive: true });
  const write = (name: string, value: unknown) =>
    fs.writeFileSync(path.join(opts.out, name), typeof value === 'string' ? value : JSON.stringify(value, null, 2) + '\n');

  const config = configJson(shape, vocabSize, base);
  write('config.json', opts.variant ? opts.variant.config(config) : config);
  write('generation_config.json', {
    eos_token_id: [specialId(151645, base), specialId(151643, base)], pad_token_id: specialId(151643, base),
    do_sample: false, max_new_tokens: 512,
  });
  write('vocab.json', gapFreeVocab(bpe.vocab, base ?? QWEN_FIRST_SPECIAL));
  write('merges.txt', '#version: 0.2\n' + bpe.merges.join('\n') + '\n');
  write('tokenizer_config.json', tokenizerConfig(base));
  write('preprocessor_config.json', {
    chunk_length: 30, dither: 0.0, feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 128,
    hop_length: 160, n_fft: 400, n_samples: 480000, nb_max_frames: 3000, padding_side: 'right',
    padding_value: 0.0, processor_class: 'Qwen3ASRProcessor', return_attention_mask: true, sampling_rate: 16000,
  });
  write('chat_template.json', { chat_template: CHAT_TEMPLATE });

  const specs = opts.variant ? opts.variant.tensors(tensorSpecs(shape, vocabSize)) : tensorSpecs(shape, vocabSize);
  const totalBytes = specs.reduce((acc, t) => acc + byteSize(t), 0);
  const rng = new WeightRng(opts.seed ?? 0);
  let done = 0;
  // A real save of a tied model stores lm_head as a copy of embed_tokens (kept until the head is written).
  let embedding: Uint16Array | undefined;
  const produce = (t: TensorSpec) => {
    const spec = t as WeightSpec;
    const n = spec.shape.reduce((x, y) => x * y, 1);
    const data = spec.name === LM_HEAD && embedding?.length === n ? embedding : float32ToBf16(rng.fill(n, spec.mean, spec.mean === 1 ? shape.std / 2 : shape.std));
    if (spec.name === EMBED) embedding = data;
    if (spec.name === LM_HEAD) embedding = undefined;
    done += data.byteLength;
    opts.onProgress?.(done, totalBytes);
    return data;
  };
  const shards = shard(specs, shape.shards);
  if (shards.length === 1) {
    writeSafetensorsStreaming(path.join(opts.out, 'model.safetensors'), shards[0], produce);
    return;
  }
  const weightMap: Record<string, string> = {};
  shards.forEach((group, i) => {
    const file = `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`;
    writeSafetensorsStreaming(path.join(opts.out, file), group, produce);
    for (const t of group) weightMap[t.name] = file;
  });
  write('model.safetensors.index.json', { metadata: { total_size: totalBytes }, weight_map: weightMap });
}
