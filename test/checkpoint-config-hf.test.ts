// The "-hf" config as transformers' convert_qwen3_asr_to_hf.py writes it: the
// thinker_config flattened with only audio_token_id kept, encoder_attention_heads
// renamed, eos ids on the top level, rope_theta under rope_parameters (v5), and
// the special tokens listed in tokenizer.json only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-hf-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
const original = path.join(root, 'original');
await makeCheckpoint({ size: 'tiny', out: original, seed: 1 });
const orig = loadQwen3AsrConfig(original);
const readJson = (dir: string, f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));

/** Writes the converter's config.json plus a tokenizer.json holding the added tokens; returns the folder. */
function hfFolder(name: string, withTokenizer: boolean): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const th = readJson(original, 'config.json').thinker_config;
  const { encoder_attention_heads: heads, max_source_positions: _drop, ...audio } = th.audio_config;
  const { rope_theta: theta, rope_scaling: _rope, ...text } = th.text_config;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['Qwen3ASRForConditionalGeneration'],
    model_type: 'qwen3_asr',
    audio_config: { ...audio, num_attention_heads: heads, num_key_value_heads: heads, max_position_embeddings: 13 },
    text_config: { ...text, rope_parameters: { rope_type: 'default', rope_theta: theta } },
    audio_token_id: th.audio_token_id,
    eos_token_id: [orig.eosTokenIds[1], orig.eosTokenIds[0]],
  }));
  if (withTokenizer) {
    const decoder = readJson(original, 'tokenizer_config.json').added_tokens_decoder;
    const added = Object.entries<Record<string, unknown>>(decoder).map(([id, tok]) => ({ id: Number(id), ...tok }));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ version: '1.0', added_tokens: added }));
  }
  return dir;
}

t.test('the converter output normalises to the same numbers as the original', async (t) => {
  const cfg = loadQwen3AsrConfig(hfFolder('hf', true));
  t.equal(cfg.layout, 'hf');
  t.same(cfg.audio, orig.audio);
  t.same(cfg.text, orig.text);
  t.equal(cfg.audioTokenId, orig.audioTokenId);
  t.equal(cfg.audioStartTokenId, orig.audioStartTokenId, 'audio_start id from tokenizer.json');
  t.equal(cfg.audioEndTokenId, orig.audioEndTokenId, 'audio_end id from tokenizer.json');
  t.same(new Set(cfg.eosTokenIds), new Set(orig.eosTokenIds));
});

t.test('without generation or eos settings the eos ids are the chat end tokens', async (t) => {
  const dir = path.join(root, 'no-eos');
  fs.mkdirSync(dir);
  const config = readJson(original, 'config.json');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.copyFileSync(path.join(original, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  const decoder = readJson(original, 'tokenizer_config.json').added_tokens_decoder;
  const idOf = (content: string) => Number(Object.keys(decoder).find((id) => decoder[id].content === content));
  t.same(loadQwen3AsrConfig(dir).eosTokenIds, [idOf('<|im_end|>'), idOf('<|endoftext|>')]);
});

t.test('audio_start missing from both config and tokenizer is a clear error', async (t) => {
  t.throws(() => loadQwen3AsrConfig(hfFolder('hf-bare', false)), { code: 'ERR_MODEL_CONFIG', message: /audio_start_token_id.*<\|audio_start\|>/ });
});
