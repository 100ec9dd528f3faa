// TypeScript port of EnglishSpellingNormalizer and EnglishTextNormalizer from
// OpenAI Whisper's normalizers/english.py (MIT, Copyright (c) 2022 OpenAI; notice
// in configs/eval/WHISPER-LICENSE). sglang-omni scores English ASR with this
// normaliser, so its reference WERs are only comparable through it.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../../util/paths.js';
import { WORD_END, WORD_START, removeBracketed, removeSymbolsAndDiacritics } from './basic.js';
import { normalizeEnglishNumbers } from './english-numbers.js';

let spellings: Map<string, string> | undefined;

/** British → American spellings (Whisper's english.json, shipped under configs/eval/). */
function spellingMap(): Map<string, string> {
  if (!spellings) {
    const file = path.join(repoRoot(), 'configs', 'eval', 'whisper-english-spelling.json');
    spellings = new Map(Object.entries(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>));
  }
  return spellings;
}

/** Whisper's EnglishSpellingNormalizer: word-by-word British → American spelling. */
export function normalizeEnglishSpelling(s: string): string {
  const map = spellingMap();
  return s
    .split(/\s+/)
    .filter((w) => w.length > 0)
    .map((w) => map.get(w) ?? w)
    .join(' ');
}

const word = (w: string) => `${WORD_START}${w}${WORD_END}`;

const FILLERS = new RegExp(word('(?:hmm|mm|mhm|mmm|uh|um)'), 'gu');

/** Applied in this order, each to the whole string; later rules see earlier output. */
const REPLACERS: Array<[RegExp, string]> = [
  // common contractions
  [word("won't"), 'will not'], [word("can't"), 'can not'], [word("let's"), 'let us'], [word("ain't"), 'aint'],
  [word("y'all"), 'you all'], [word('wanna'), 'want to'], [word('gotta'), 'got to'], [word('gonna'), 'going to'],
  [word("i'ma"), 'i am going to'], [word('imma'), 'i am going to'], [word('woulda'), 'would have'],
  [word('coulda'), 'could have'], [word('shoulda'), 'should have'], [word("ma'am"), 'madam'],
  // abbreviated titles; the trailing space is Whisper's
  ...([
    ['mr', 'mister'], ['mrs', 'missus'], ['st', 'saint'], ['dr', 'doctor'], ['prof', 'professor'], ['capt', 'captain'],
    ['gov', 'governor'], ['ald', 'alderman'], ['gen', 'general'], ['sen', 'senator'], ['rep', 'representative'],
    ['pres', 'president'], ['rev', 'reverend'], ['hon', 'honorable'], ['asst', 'assistant'], ['assoc', 'associate'],
    ['lt', 'lieutenant'], ['col', 'colonel'], ['jr', 'junior'], ['sr', 'senior'], ['esq', 'esquire'],
  ].map(([abbr, title]): [string, string] => [word(abbr), `${title} `])),
  // perfect tenses ("'s done" is ambiguous, so it is left alone)
  [`'d been${WORD_END}`, ' had been'], [`'s been${WORD_END}`, ' has been'], [`'d gone${WORD_END}`, ' had gone'],
  [`'s gone${WORD_END}`, ' has gone'], [`'d done${WORD_END}`, ' had done'], [`'s got${WORD_END}`, ' has got'],
  // general contractions
  [`n't${WORD_END}`, ' not'], [`'re${WORD_END}`, ' are'], [`'s${WORD_END}`, ' is'], [`'d${WORD_END}`, ' would'],
  [`'ll${WORD_END}`, ' will'], [`'t${WORD_END}`, ' not'], [`'ve${WORD_END}`, ' have'], [`'m${WORD_END}`, ' am'],
].map(([pattern, replacement]) => [new RegExp(pattern, 'gu'), replacement as string]);

/**
 * Whisper's EnglishTextNormalizer: lower-cases, drops bracketed asides and
 * fillers, expands contractions and titles, strips punctuation and diacritics,
 * turns spelled numbers into digits and British spellings into American ones.
 * Like the original it collapses but does not trim whitespace.
 */
export function normalizeEnglish(input: string): string {
  let s = removeBracketed(input.toLowerCase())
    .replace(FILLERS, '')
    .replace(/\s+'/g, "'");
  for (const [pattern, replacement] of REPLACERS) s = s.replace(pattern, replacement);
  s = s
    .replace(/(\d),(\d)/g, '$1$2') // thousands separators
    .replace(/\.([^0-9]|$)/g, ' $1'); // periods that are not decimal points
  s = removeSymbolsAndDiacritics(s, '.%$¢€£'); // keep the symbols numbers use
  s = normalizeEnglishSpelling(normalizeEnglishNumbers(s));
  return s
    .replace(/[.$¢€£]([^0-9])/g, ' $1') // signs no longer next to a number
    .replace(/([^0-9])%/g, '$1 ')
    .replace(/\s+/g, ' ');
}
