import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { gapFreeVocab, qwenAddedTokens } from '../stages/qwen3-asr/checkpoint/bpe-vocab.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import { SafetensorsCheckpoint } from '../stages/common/weights/safetensors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('tiny checkpoint has the original layout and reads back', async (t) => {
  await makeCheckpoint({ size: 'tiny', out: dir, seed: 3 });
  for (const f of ['config.json', 'generation_config.json', 'vocab.json', 'merges.txt', 'tokenizer_config.json',
    'preprocessor_config.json', 'chat_template.json', 'model.safetensors.index.json']) {
    t.ok(fs.existsSync(path.join(dir, f)), f);
  }
  const cfg = loadQwen3AsrConfig(dir);
  t.equal(cfg.layout, 'original');
  t.same([cfg.text.heads, cfg.text.kvHeads, cfg.text.headDim], [4, 2, 16]);
  const ckpt = new SafetensorsCheckpoint(dir);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  t.equal(new Set(Object.values(index.weight_map)).size, 2, 'two shards');
  t.equal(ckpt.tensors.size, Object.keys(index.weight_map).length);
  for (const info of ckpt.tensors.values()) {
    t.equal(info.dtype, 'BF16', info.name);
    t.ok(info.name.startsWith('thinker.'), info.name);
  }
  t.same(ckpt.info('thinker.audio_tower.conv_out.weight').shape, [64, 16 * 16]);
  t.same(ckpt.info('thinker.lm_head.weight').shape, [cfg.text.vocabSize, 64]);
  t.ok(cfg.text.tieWordEmbeddings && ckpt.sameBytes('thinker.lm_head.weight', 'thinker.model.embed_tokens.weight'), 'tied, and the stored head is a copy of embed_tokens (as a real save)');
  t.notOk(ckpt.sameBytes('thinker.lm_head.weight', 'thinker.model.layers.0.mlp.up_proj.weight'), 'sameBytes tells tensors apart');
  t.same(ckpt.info('thinker.model.layers.1.self_attn.k_proj.weight').shape, [2 * 16, 64]);
  const tok = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')).added_tokens_decoder;
  t.equal(tok[String(cfg.audioTokenId)].content, '<|audio_pad|>');
  t.equal(tok[String(cfg.eosTokenIds[0])].content, '<|im_end|>');
  t.ok(cfg.audioTokenId < cfg.text.vocabSize, 'special ids fit in the embedding');
  const ids = [...Object.values<number>(JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8'))), ...Object.keys(tok).map(Number)].sort((a, b) => a - b);
  t.same(ids, ids.map((_, i) => i), `vocab.json and the added tokens number 0..${ids.length - 1} without a gap (HF would renumber the specials)`);
  t.match(JSON.parse(fs.readFileSync(path.join(dir, 'chat_template.json'), 'utf8')).chat_template, "'<|im_start|>system\\n' + (ns.system_text", 'the official template: system turn, then newline');
});

t.test('a real-size vocabulary is filled up to the first added token', async (t) => {
  const vocab = gapFreeVocab({ a: 0, b: 1, ab: 2 }, 6);
  t.same(Object.values(vocab), [0, 1, 2, 3, 4, 5]);
  t.equal(new Set(Object.keys(vocab)).size, 6, 'placeholders are distinct');
  t.same(qwenAddedTokens().map(([id]) => id), Array.from({ length: 63 }, (_, i) => 151643 + i), 'added tokens 151643..151705 without a gap');
});

t.test('same seed, same weights; other seed, other weights', async (t) => {
  const other = path.join(dir, 'again');
  const third = path.join(dir, 'other');
  await makeCheckpoint({ size: 'tiny', out: other, seed: 3 });
  await makeCheckpoint({ size: 'tiny', out: third, seed: 4 });
  const a = new SafetensorsCheckpoint(dir).float32('thinker.model.embed_tokens.weight');
  const b = new SafetensorsCheckpoint(other).float32('thinker.model.embed_tokens.weight');
  const c = new SafetensorsCheckpoint(third).float32('thinker.model.embed_tokens.weight');
  t.same(Array.from(a.subarray(0, 64)), Array.from(b.subarray(0, 64)));
  t.notSame(Array.from(a.subarray(0, 64)), Array.from(c.subarray(0, 64)));
  const std = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
  t.ok(Math.abs(std - 0.15) < 0.01, `weight std ${std} ≈ 0.15`);
});

t.test('transformers -hf layout: flattened config and renamed tensors', async (t) => {
  const hf = path.join(dir, 'hf');
  fs.mkdirSync(hf);
  const orig = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const th = orig.thinker_config;
  const audio = { ...th.audio_config, num_attention_heads: th.audio_config.encoder_attention_heads };
  delete audio.encoder_attention_heads;
  fs.writeFileSync(path.join(hf, 'config.json'), JSON.stringify({
    model_type: 'qwen3_asr', audio_config: audio, text_config: th.text_config,
    audio_token_id: th.audio_token_id, audio_start_token_id: th.audio_start_token_id, audio_end_token_id: th.audio_end_token_id,
  }));
  const cfg = loadQwen3AsrConfig(hf);
  t.equal(cfg.layout, 'hf');
  t.equal(cfg.audio.heads, 4);
  t.equal(cfg.tensorName('thinker.model.layers.0.mlp.up_proj.weight'), 'model.language_model.layers.0.mlp.up_proj.weight');
  t.equal(cfg.tensorName('thinker.lm_head.weight'), 'lm_head.weight');
  t.equal(cfg.tensorName('thinker.audio_tower.proj2.bias'), 'model.multi_modal_projector.linear_2.bias');
  t.equal(cfg.tensorName('thinker.audio_tower.conv2d1.weight'), 'model.audio_tower.conv2d1.weight');
});

t.test('a folder without a Qwen3-ASR config is refused clearly', async (t) => {
  const bad = path.join(dir, 'bad');
  fs.mkdirSync(bad);
  fs.writeFileSync(path.join(bad, 'config.json'), '{"model_type":"whisper"}');
  t.throws(() => loadQwen3AsrConfig(bad), { code: 'ERR_MODEL_CONFIG' });
});
