// Output parsing (qwen-asr's parse_asr_output and detect_and_fix_repetitions),
// language names and codes, and joining segment texts.
import t from 'tap';
import { joinSegmentTexts, segmentSeam } from '../stages/qwen3-asr/text/join.js';
import { resolveLanguage, SUPPORTED_LANGUAGES } from '../stages/qwen3-asr/text/languages.js';
import { fixRepetitions, mergeLanguages, parseAsrOutput } from '../stages/qwen3-asr/text/parse.js';
import { StageError } from '../src/runtime/contracts.js';

t.test('character runs longer than 20 collapse to one character', async (t) => {
  t.equal(fixRepetitions('a' + 'b'.repeat(21) + 'c'), 'abc');
  t.equal(fixRepetitions('嗯'.repeat(50) + '好'), '嗯好');
  t.equal(fixRepetitions('x'.repeat(19) + 'y'), 'x'.repeat(19) + 'y', 'under the threshold stays');
  t.equal(fixRepetitions('😀'.repeat(30)), '😀', 'counts characters, not UTF-16 units');
});

t.test('patterns of 1-20 characters repeated 20+ times collapse to one copy', async (t) => {
  t.equal(fixRepetitions('Start ' + 'ha '.repeat(25) + 'end of the sentence here'), 'Start ha end of the sentence here');
  t.equal(fixRepetitions('谢谢大家'.repeat(20) + '。再见，各位朋友们，下次见面再聊吧。'), '谢谢大家。再见，各位朋友们，下次见面再聊吧。');
  const sentence = 'the same words ';
  t.equal(fixRepetitions(sentence.repeat(19) + 'and more text after it'), sentence.repeat(19) + 'and more text after it', '19 copies stay');
  t.equal(fixRepetitions('abcdefghijklmnopqrstu'.repeat(20)), 'abcdefghijklmnopqrstu'.repeat(20), 'patterns longer than 20 characters stay');
  t.equal(
    fixRepetitions('ab'.repeat(20) + 'middle text that is long enough, ' + 'cd'.repeat(22) + ' then a tail that is long enough to scan'),
    'ab' + 'middle text that is long enough, ' + 'cd' + ' then a tail that is long enough to scan',
    'later runs are found after the first',
  );
  // Like the reference, a run is only looked for where at least 40 characters remain:
  // exactly 20 copies of one character are collapsed mid-text but not at the end.
  const words = 'followed by more than twenty characters';
  t.equal(fixRepetitions('a'.repeat(20) + words), 'a' + words);
  t.equal(fixRepetitions(words + 'a'.repeat(20)), words + 'a'.repeat(20));
  t.equal(fixRepetitions('end: ' + 'ab'.repeat(20)), 'end: ab', 'exactly 40 characters left is enough');
  t.equal(fixRepetitions('Normal speech, nothing repeated here at all. Really nothing.'), 'Normal speech, nothing repeated here at all. Really nothing.');
});

t.test('parseAsrOutput', async (t) => {
  t.same(parseAsrOutput('language English<asr_text>Hello world.'), { text: 'Hello world.', language: 'English' });
  t.same(parseAsrOutput('  language CHINESE<asr_text> 你好。 \n'), { text: '你好。', language: 'Chinese' });
  t.same(parseAsrOutput('language None<asr_text>'), { text: '', language: '' }, 'no speech');
  t.same(parseAsrOutput('language none<asr_text> uh'), { text: 'uh', language: '' }, 'text after None is kept, language unknown');
  t.same(parseAsrOutput('just text, no header'), { text: 'just text, no header', language: '' });
  t.same(parseAsrOutput('language English\n<asr_text>Hi'), { text: 'Hi', language: 'English' }, 'newline before the tag');
  t.same(parseAsrOutput('gibberish<asr_text>Hi'), { text: 'Hi', language: '' }, 'a header without "language " names none');
  t.same(parseAsrOutput('Bonjour<asr_text>x', 'French'), { text: 'Bonjour<asr_text>x', language: 'French' }, 'forced: all of it is text');
  t.same(parseAsrOutput('language English<asr_text>' + 'no '.repeat(30)), { text: 'no no', language: 'English' }, '"no " ×29 + "no" collapses to "no no"');
  t.same(parseAsrOutput(''), { text: '', language: '' });
});

t.test("parseAsrOutput scans the header's lines as qwen-asr does", async (t) => {
  t.same(parseAsrOutput('foo\nlanguage German\nbar<asr_text>Hallo'), { text: 'Hallo', language: 'German' }, 'a line before the language line is skipped');
  t.same(parseAsrOutput('\n\n  LANGUAGE french  \n<asr_text>x'), { text: 'x', language: 'French' }, 'blank lines skipped, prefix in any case');
  t.same(parseAsrOutput('language \nlanguage German<asr_text>x'), { text: 'x', language: 'German' }, '"language " stripped to "language" is not the prefix');
  t.same(parseAsrOutput('language  \u3000 x\nlanguage German<asr_text>y'), { text: 'y', language: 'X' }, 'the first language line decides');
  t.same(parseAsrOutput('note\rlanguage Korean\u2028<asr_text>z'), { text: 'z', language: 'Korean' }, 'Python line breaks: \\r, \\u2028');
  t.same(parseAsrOutput('x\x1clanguage Thai<asr_text>\x1f z \x85'), { text: 'z', language: 'Thai' }, 'Python splits at \\x1c and strips \\x1f, \\x85');
  t.same(parseAsrOutput('\ufefflanguage Thai<asr_text>z'), { text: 'z', language: '' }, 'Python does not strip a BOM: that line does not start with the prefix');
  t.same(parseAsrOutput('languages English<asr_text>z'), { text: 'z', language: '' });
});

t.test('mergeLanguages drops empties and consecutive repeats', async (t) => {
  t.equal(mergeLanguages(['Chinese', 'English', 'English', '', 'Chinese']), 'Chinese,English,Chinese');
  t.equal(mergeLanguages(['', '']), '');
  t.equal(mergeLanguages(['English']), 'English');
});

t.test('resolveLanguage accepts the 30 names in any case and ISO codes', async (t) => {
  t.equal(SUPPORTED_LANGUAGES.length, 30);
  for (const name of SUPPORTED_LANGUAGES) {
    t.equal(resolveLanguage(name.toUpperCase()), name);
    t.equal(resolveLanguage(` ${name.toLowerCase()} `), name);
  }
  const codes: [string, string][] = [
    ['en', 'English'], ['EN', 'English'], ['zh', 'Chinese'], ['cn', 'Chinese'], ['zh-CN', 'Chinese'], ['zh_TW', 'Chinese'],
    ['zh-Hant', 'Chinese'], ['en-US', 'English'], ['pt_BR', 'Portuguese'], ['yue', 'Cantonese'], ['fil', 'Filipino'], ['tl', 'Filipino'], ['ja', 'Japanese'], ['ko', 'Korean'],
    ['fa', 'Persian'], ['el', 'Greek'], ['mk', 'Macedonian'], ['ms', 'Malay'], ['id', 'Indonesian'], ['cs', 'Czech'],
  ];
  for (const [code, name] of codes) t.equal(resolveLanguage(code), name, code);
});

t.test('an unsupported language is a 400 on param language listing what is accepted', async (t) => {
  for (const bad of ['klingon', 'xx', '', 'xx-YY', 'en-', 'None', 'english-US', 'constructor', '__proto__', 'toString']) {
    let err: unknown;
    try {
      resolveLanguage(bad);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof StageError, `${JSON.stringify(bad)} rejected`);
    const e = err as StageError;
    t.equal(e.code, 'ERR_INVALID_LANGUAGE');
    t.equal(e.kind, 'invalid_input');
    t.equal(e.param, 'language');
    t.match(e.message, /Macedonian/);
    t.match(e.message, /\bzh\b/);
  }
});

t.test('segment seams: spaces only between spaced scripts', async (t) => {
  t.equal(joinSegmentTexts(['Hello there.', 'How are you?']), 'Hello there. How are you?');
  t.equal(joinSegmentTexts(['你好。', '今天天气很好。']), '你好。今天天气很好。');
  t.equal(joinSegmentTexts(['これは', 'テストです']), 'これはテストです');
  t.equal(joinSegmentTexts(['สวัสดี', 'ครับ']), 'สวัสดีครับ');
  t.equal(joinSegmentTexts(['안녕하세요.', '반갑습니다.']), '안녕하세요. 반갑습니다.', 'Korean is spaced');
  t.equal(joinSegmentTexts(['我们用 GPU', 'training']), '我们用 GPU training');
  t.equal(joinSegmentTexts(['English words', '中文']), 'English words中文');
  t.equal(joinSegmentTexts(['one', '', 'two']), 'one two', 'silent segments leave no double space');
  t.equal(joinSegmentTexts(['ends with space ', 'next']), 'ends with space next');
  t.equal(joinSegmentTexts(['word', ', and more']), 'word, and more');
  t.equal(joinSegmentTexts([]), '');
  t.equal(segmentSeam('abc', 'def'), ' ');
  t.equal(segmentSeam('', 'def'), '');
  t.equal(segmentSeam('(', 'def'), '');
});
