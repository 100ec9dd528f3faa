// Whisper's English normaliser, ported: each expected output follows from the
// rules in Whisper's english.py/basic.py, including their quirks, and was
// checked against the Python original.
import t from 'tap';
import { createBasicNormalizer } from '../src/eval/normalize/basic.js';
import { normalizeChinese } from '../src/eval/normalize/chinese.js';
import { normalizeEnglish, normalizeEnglishSpelling } from '../src/eval/normalize/english.js';

const english: Array<[string, string, string]> = [
  // numbers
  ['cardinal words', 'two thousand and twenty', '2020'],
  ['and after hundred is dropped', 'nineteen hundred and eighty four', '1984'],
  ['multiplier scales the group below a thousand', 'three million five hundred thousand', '3500000'],
  ['a bare multiplier', 'a hundred', 'a 100'],
  ['bigint range', 'a decillion', 'a 1000000000000000000000000000000000'],
  ['successive digits are nominal', 'one oh one', '101'],
  ['zeros keep leading zeros', 'zero zero seven', '007'],
  ['double', 'double oh seven', '007'],
  ['triple', 'triple three', '333'],
  ['decimal point', 'forty two point zero five', '42.05'],
  ['point alone', 'point five', '.5'],
  ['and a half', 'two and a half', '2.5'],
  ['and a half with no number before it vanishes', 'and a half apples', 'apples'],
  ['thousands separators', '1,000,000 people', '1000000 people'],
  ['integral decimals collapse', '1.0', 'one'],
  ['IP-like digits', '192.168.1.1', '192.168 one one'],
  ['multiple dots stay', 'version 3.14.15', 'version 3.14.15'],
  // ordinals and plurals
  ['ordinal after tens', 'twenty first century', '21st century'],
  ['tens ordinal', 'the twentieth century', 'the 20th century'],
  ['ordinal after two words', 'thirty fourth street', '34th street'],
  ['multiplier ordinal', 'five hundredth', '500th'],
  ['multiplier plural', 'eleven hundreds', '1100s'],
  ['tens plural', 'the nineties', 'the 90s'],
  ['ones plural', 'sixes and sevens', '6s and 7s'],
  ['"ninth" is not in the table (Whisper spells it "nineth")', 'ninth and ninety ninth', 'ninth and 90 ninth'],
  ['"second" after a digit word is read as an ordinal', 'one second', '12nd'],
  ['arabic suffixes kept', 'It\'s the 1960s', 'it is the 1960s'],
  ['suffix rejoined, unit split', "Let's meet at 3pm on the 21st.", 'let us meet at 3 pm on the 21st'],
  // one/ones written out, even inside decimals
  ['1 and 1s written out', 'it was 1 of 1s', 'it was one of ones'],
  ['one point five', 'one point five', 'one.5'],
  // currencies, percent, signs
  ['currency before multiplier', 'Mr. Smith paid $20 million.', 'mister smith paid $20000000'],
  ['dollars after a number', '2.50 dollars', '$2.50'],
  ['dollars and cents', 'It costs $2 and 7 cents', 'it costs $2.07'],
  ['cents only', 'It costs $0.05', 'it costs ¢5'],
  ['pounds and euros kept', '£5 and €10', '£5 and €10'],
  ['per cent', 'five per cent', '5%'],
  ['percent', 'ten percent of 200', '10% of 200'],
  ['percent sign', '100%', '100%'],
  ['minus before a number', 'minus five degrees', '-5 degrees'],
  ['minus before a word', 'plus or minus', 'plus or minus'],
  ['lone dollar sign stays', '$', '$'],
  ['dollar sign apart from its number goes', 'price is $ 5', 'price is 5'],
  // spellings
  ['British spellings', "The colour of the theatre's centre", 'the color of the theater is center'],
  // contractions and titles
  ['won\'t', "I won't go", 'i will not go'],
  ['perfect tenses', "He's been there; they'd gone home.", 'he has been there they had gone home'],
  ['general contractions', "I'm you're we've they'll she'd", 'i am you are we have they will she would'],
  ['colloquial', "ma'am y'all gonna wanna gotta", 'madam you all going to want to got to'],
  ['titles', 'Dr. Who and St. Paul', 'doctor who and saint paul'],
  // punctuation, fillers, brackets, diacritics, whitespace
  ['fillers (umm is not one)', 'umm uh hmm yes', 'umm yes'],
  ['brackets and parentheses', '[inaudible] hello (laughs) world <noise>', 'hello world'],
  ['diacritics', 'Café naïve façade Æsop Øresund straße', 'cafe naive facade aesop oresund strasse'],
  ['punctuation', 'hello, world! what?', 'hello world what'],
  ['spaces', 'Hello  world ,   how are you ?', 'hello world how are you'],
  ['final period', 'the end.', 'the end'],
];

t.test('EnglishTextNormalizer port', async (t) => {
  for (const [name, input, expected] of english) t.equal(normalizeEnglish(input), expected, name);
});

t.test('spelling map is word-wise and ignores object keys', async (t) => {
  t.equal(normalizeEnglishSpelling('organise the catalogue'), 'organize the catalog');
  t.equal(normalizeEnglishSpelling('constructor toString __proto__'), 'constructor toString __proto__');
});

t.test('BasicTextNormalizer', async (t) => {
  const basic = createBasicNormalizer();
  t.equal(basic('Héllo, Wörld! [music] (aside) ok'), 'héllo wörld ok', 'keeps diacritics, drops symbols');
  t.equal(createBasicNormalizer({ removeDiacritics: true })('Héllo Æsop'), 'hello aesop');
  t.equal(createBasicNormalizer({ splitLetters: true })('ab c'), 'a b c', 'grapheme split');
});

t.test('Chinese text for CER', async (t) => {
  t.equal(normalizeChinese('你好，世界！ 今天　天气“很好”。'), '你 好 世 界 今 天 天 气 很 好');
  t.equal(normalizeChinese("it's OK."), "i t ' s O K", 'ASCII punctuation except apostrophe goes');
});
