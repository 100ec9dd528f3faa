// Prompt ids against the real Qwen vocabulary (the ids ports report for the
// official checkpoints), the audio-token formula against the facts table, and the
// whole text codec on a tiny generated checkpoint whose special ids are not Qwen's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import { audioTokenCount, type EncoderDims } from '../stages/qwen3-asr/graph/dims.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';
import { PromptBuilder } from '../stages/qwen3-asr/text/prompt.js';
import { loadQwenTokenizer } from '../stages/qwen3-asr/text/tokenizer.js';
import { StageError } from '../src/runtime/contracts.js';
import { makeQwenVocabFixture } from './qwen3-asr-text-fixture.js';

const fixture = makeQwenVocabFixture();
t.teardown(fixture.cleanup);
const qwen = loadQwenTokenizer(fixture.slowDir);

// antirez/qwen-asr MODEL.md: the prompt around N audio pads with an empty context.
const PREFIX = [151644, 8948, 198, 151645, 198, 151644, 872, 198, 151669];
const SUFFIX = [151670, 151645, 198, 151644, 77091, 198];
const pads = (n: number) => new Array<number>(n).fill(151676);

t.test('prompt ids equal the official ones', async (t) => {
  const prompts = new PromptBuilder(qwen);
  t.same(Array.from(prompts.build({ context: '', audioTokens: 13 })), [...PREFIX, ...pads(13), ...SUFFIX]);
  t.same(
    Array.from(prompts.build({ context: '', audioTokens: 5, language: 'English' })),
    [...PREFIX, ...pads(5), ...SUFFIX, 11528, 6364, 151704],
    'forced language appends language English<asr_text>',
  );
  const context = 'Speakers: Zhang Wei, 李娜.';
  const withContext = Array.from(prompts.build({ context, audioTokens: 2 }));
  t.same(withContext, [151644, ...qwen.encode(`system\n${context}`), 151645, 198, 151644, 872, 198, 151669, ...pads(2), ...SUFFIX]);
  t.equal(qwen.decode(withContext), `<|im_start|>system\n${context}<|im_end|>\n<|im_start|>user\n<|audio_start|><|audio_pad|><|audio_pad|><|audio_end|><|im_end|>\n<|im_start|>assistant\n`);
});

t.test('prompt refuses control tokens in the context and bad audio counts', async (t) => {
  const prompts = new PromptBuilder(qwen);
  for (const context of ['a<|im_end|>b', '<|audio_pad|>', 'x<asr_text>']) {
    let err: unknown;
    try {
      prompts.build({ context, audioTokens: 3 });
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof StageError && err.code === 'ERR_INVALID_PROMPT' && err.kind === 'invalid_input' && err.param === 'prompt', JSON.stringify(context));
  }
  t.throws(() => prompts.build({ context: '', audioTokens: 0 }), { code: 'ERR_INVALID_PROMPT' });
  t.throws(() => prompts.build({ context: '', audioTokens: 2.5 }), { code: 'ERR_INVALID_PROMPT' });
});

t.test('audio token count follows the facts table', async (t) => {
  const dims = { nWindow: 50, nWindowInfer: 800 } as EncoderDims;
  const table: [number, number][] = [[100, 13], [1000, 130], [3000, 390], [1, 1], [8, 1], [9, 2], [50, 7], [99, 13], [150, 20], [0, 0]];
  for (const [frames, tokens] of table) t.equal(audioTokenCount(dims, frames), tokens, `${frames} frames`);
  // The Python reference formula, floor division throughout.
  for (let frames = 1; frames <= 2000; frames++) {
    const r = frames % 100;
    const f = Math.floor((r - 1) / 2) + 1;
    const reference = Math.floor((Math.floor((f - 1) / 2) + 1 - 1) / 2) + 1 + Math.floor(frames / 100) * 13;
    if (audioTokenCount(dims, frames) !== reference) t.fail(`${frames} frames`);
    if (audioTokenCount(dims, frames) !== 13 * Math.floor(frames / 100) + Math.ceil(r / 8)) t.fail(`${frames} frames (closed form)`);
  }
});

t.test('the codec of a tiny checkpoint takes every id from its files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-tiny-text-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await makeCheckpoint({ size: 'tiny', out: dir, seed: 1 });
  const config = loadQwen3AsrConfig(dir);
  const text = loadAsrText(dir);
  t.ok(text.audioTokenId < config.text.vocabSize, 'special ids are packed below the tiny vocab size');
  t.equal(text.audioTokenId, config.audioTokenId);
  t.same(text.eosIds, config.eosTokenIds);
  const imEnd = text.tokenizer.requireTokenId('<|im_end|>');
  t.ok(text.eosIds.includes(imEnd));

  const ids = text.codec.promptIds('', 4, 'English');
  t.equal(ids.filter((id) => id === config.audioTokenId).length, 4);
  t.equal(ids[ids.indexOf(config.audioTokenId) - 1], config.audioStartTokenId);
  t.equal(ids[ids.lastIndexOf(config.audioTokenId) + 1], config.audioEndTokenId);
  t.ok(ids.every((id) => id < config.text.vocabSize), 'every prompt id is inside the embedding table');
  t.match(text.tokenizer.decode(ids), /^<\|im_start\|>system\n<\|im_end\|>\n.*<\|im_start\|>assistant\nlanguage English<asr_text>$/s);

  // A generated output as the model would give it, through decode → parse.
  const generated = [...text.tokenizer.encode('language English<asr_text>the quick brown fox'), imEnd];
  const raw = text.codec.decode(generated);
  t.equal(raw, 'language English<asr_text>the quick brown fox');
  t.same(text.codec.parse(raw, undefined), { text: 'the quick brown fox', language: 'English' });
  const det = text.codec.detokenizer();
  t.equal(generated.map((id) => det.push(id)).join('') + det.flush(), raw);
  t.equal(text.resolveLanguage('en'), 'English');
  t.equal(text.codec.join(['a', 'b']), 'a b');
  t.equal(text.codec.mergeLanguages(['English', 'English']), 'English');
});

t.test('the codec over the real vocabulary with an official-style config', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-tiny-text-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await makeCheckpoint({ size: 'tiny', out: dir, seed: 1 });
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  Object.assign(config.thinker_config, { audio_token_id: 151676, audio_start_token_id: 151669, audio_end_token_id: 151670 });
  fs.writeFileSync(path.join(fixture.slowDir, 'config.json'), JSON.stringify(config));
  const text = loadAsrText(fixture.slowDir);
  t.same(text.eosIds, [151645, 151643], 'without generation_config.json: <|im_end|>, <|endoftext|> from the tokenizer files');
  t.same(text.codec.noSpeech, { afterId: 11528, tokenId: 2240 }, '"language" then " None"');
  t.same(Array.from(text.codec.promptIds('', 3, undefined)), [...PREFIX, ...pads(3), ...SUFFIX]);
  t.same(text.codec.parse(text.codec.decode([11528, 2240, 151704, 151645]), undefined), { text: '', language: '' });
});

t.test('a config whose audio ids disagree with the tokenizer is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-tiny-text-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await makeCheckpoint({ size: 'tiny', out: dir, seed: 1 });
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.thinker_config.audio_token_id = 151676;
  fs.writeFileSync(file, JSON.stringify(config));
  t.throws(() => loadAsrText(dir), { code: 'ERR_MODEL_CONFIG', message: /audio_token_id is 151676/ });
});
