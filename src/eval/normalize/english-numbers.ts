// TypeScript port of EnglishNumberNormalizer from OpenAI Whisper's
// normalizers/english.py (MIT, Copyright (c) 2022 OpenAI; notice in
// configs/eval/WHISPER-LICENSE). It turns spelled-out numbers into digits
// ("twenty one" → "21", "one oh one" → "101", "$20 million" stays with its
// currency, "fifth" → "5th", "five per cent" → "5%"). Its quirks are kept on
// purpose: published WER numbers depend on them.
//
// Values grow past 2^53 ("decillion"), so integers are bigint. Like the Python
// original, a number is either an integer (bigint) or, once it has been spelled
// digit by digit or has a decimal point, a string of digits.
import { WORD_END, WORD_START } from './basic.js';

type NumberValue = bigint | string;

const ONES = new Map<string, number>(
  ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve',
    'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'].map((name, i) => [name, i + 1]),
);
const ZEROS = new Set(['o', 'oh', 'zero']);
const TENS = new Map<string, number>([
  ['twenty', 20], ['thirty', 30], ['forty', 40], ['fifty', 50], ['sixty', 60], ['seventy', 70], ['eighty', 80], ['ninety', 90],
]);
const MULTIPLIER_EXPONENTS: Array<[string, number]> = [
  ['hundred', 2], ['thousand', 3], ['million', 6], ['billion', 9], ['trillion', 12], ['quadrillion', 15],
  ['quintillion', 18], ['sextillion', 21], ['septillion', 24], ['octillion', 27], ['nonillion', 30], ['decillion', 33],
];
const MULTIPLIERS = new Map(MULTIPLIER_EXPONENTS.map(([name, exp]) => [name, 10n ** BigInt(exp)]));

type Suffixed = [value: number, suffix: string];
type SuffixedBig = [value: bigint, suffix: string];

function ordinalOfOnes(name: string, value: number): string {
  const irregular: Record<number, string> = { 1: 'first', 2: 'second', 3: 'third', 5: 'fifth', 12: 'twelfth' };
  return irregular[value] ?? name + (name.endsWith('t') ? 'h' : 'th');
}

const ONES_SUFFIXED = new Map<string, Suffixed>([
  ...[...ONES].map(([name, v]): [string, Suffixed] => [name === 'six' ? 'sixes' : name + 's', [v, 's']]),
  ['zeroth', [0, 'th']],
  ...[...ONES].map(([name, v]): [string, Suffixed] => [ordinalOfOnes(name, v), [v, v <= 3 ? ['st', 'nd', 'rd'][v - 1] : 'th']]),
]);
const TENS_SUFFIXED = new Map<string, Suffixed>([
  ...[...TENS].map(([name, v]): [string, Suffixed] => [name.replace('y', 'ies'), [v, 's']]),
  ...[...TENS].map(([name, v]): [string, Suffixed] => [name.replace('y', 'ieth'), [v, 'th']]),
]);
const MULTIPLIERS_SUFFIXED = new Map<string, SuffixedBig>([
  ...[...MULTIPLIERS].map(([name, v]): [string, SuffixedBig] => [name + 's', [v, 's']]),
  ...[...MULTIPLIERS].map(([name, v]): [string, SuffixedBig] => [name + 'th', [v, 'th']]),
]);
const DECIMALS = new Set([...ONES.keys(), ...TENS.keys(), ...ZEROS]);

const PRECEDING_PREFIXERS = new Map([['minus', '-'], ['negative', '-'], ['plus', '+'], ['positive', '+']]);
const FOLLOWING_PREFIXERS = new Map([
  ['pound', '£'], ['pounds', '£'], ['euro', '€'], ['euros', '€'], ['dollar', '$'], ['dollars', '$'], ['cent', '¢'], ['cents', '¢'],
]);
const PREFIXES = new Set([...PRECEDING_PREFIXERS.values(), ...FOLLOWING_PREFIXERS.values()]);
/** "percent" always becomes "%"; "per" only when the next word is "cent". */
const SUFFIXERS = new Map<string, string | Map<string, string>>([['per', new Map([['cent', '%']])], ['percent', '%']]);
const SPECIALS = new Set(['and', 'double', 'triple', 'point']);

const NUMBER_WORDS = new Set<string>([
  ...ZEROS, ...ONES.keys(), ...ONES_SUFFIXED.keys(), ...TENS.keys(), ...TENS_SUFFIXED.keys(), ...MULTIPLIERS.keys(),
  ...MULTIPLIERS_SUFFIXED.keys(), ...PRECEDING_PREFIXERS.keys(), ...FOLLOWING_PREFIXERS.keys(), ...SUFFIXERS.keys(), ...SPECIALS,
]);

const ARABIC = /^\d+(\.\d+)?$/;

/** Python's truthiness of the running value: null and integer zero read as "". */
function digitsSoFar(value: NumberValue | null): string {
  return value === null || value === 0n ? '' : String(value);
}

/**
 * `Fraction(s) * multiplier` when the product is whole, else null (Python's
 * Fraction accepts "12", "1.5", "1." and ".5"; anything else fails to parse).
 */
function scaleIfWhole(s: string, multiplier: bigint): bigint | null {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || !/^(\d|\.\d)/.test(s)) return null;
  const decimals = m[2] ?? '';
  const numerator = BigInt((m[1] || '0') + decimals) * multiplier;
  const denominator = 10n ** BigInt(decimals.length);
  return numerator % denominator === 0n ? numerator / denominator : null;
}

/** Integer n for `ones` below ten after a round value (value % 10 == 0), else digit concatenation. */
function addSmall(value: bigint, n: number, round: bigint): NumberValue {
  return value % round === 0n ? value + BigInt(n) : String(value) + n;
}

function processWords(words: string[]): string[] {
  const out: string[] = [];
  let prefix: string | null = null;
  let value: NumberValue | null = null;
  let skip = false;

  const emit = (result: NumberValue) => {
    out.push((prefix ?? '') + String(result));
    value = null;
    prefix = null;
  };

  for (let i = 0; i < words.length; i++) {
    if (skip) {
      skip = false;
      continue;
    }
    const prev = i > 0 ? words[i - 1] : undefined;
    const current = words[i];
    const next = i + 1 < words.length ? words[i + 1] : undefined;
    const nextIsNumeric = next !== undefined && ARABIC.test(next);
    const nextCanBeNumber = nextIsNumeric || (next !== undefined && NUMBER_WORDS.has(next));
    const hasPrefix = PREFIXES.has(current[0]);
    const bare = hasPrefix ? current.slice(1) : current;

    if (ARABIC.test(bare)) {
      // digits, possibly with a currency sign and decimals
      if (value !== null) {
        if (typeof value === 'string' && value.endsWith('.')) {
          // decimals or IP-address parts continue the running number
          value = value + current;
          continue;
        }
        emit(value);
      }
      if (hasPrefix) prefix = current[0];
      const [whole, fraction = ''] = bare.split('.');
      value = /^0*$/.test(fraction) ? BigInt(whole) : bare;
    } else if (!NUMBER_WORDS.has(current)) {
      if (value !== null) emit(value);
      emit(current);
    } else if (ZEROS.has(current)) {
      value = digitsSoFar(value) + '0';
    } else if (ONES.has(current)) {
      const ones = ONES.get(current)!;
      if (value === null) value = BigInt(ones);
      else if (typeof value === 'string' || (prev !== undefined && ONES.has(prev))) {
        // "twenty" then "one": the digit replaces the trailing zero
        value = prev !== undefined && TENS.has(prev) && ones < 10 ? String(value).slice(0, -1) + ones : String(value) + ones;
      } else value = addSmall(value, ones, ones < 10 ? 10n : 100n);
    } else if (ONES_SUFFIXED.has(current)) {
      // an ordinal or plural ends the number at once
      const [ones, suffix] = ONES_SUFFIXED.get(current)!;
      if (value === null) emit(ones + suffix);
      else if (typeof value === 'string' || (prev !== undefined && ONES.has(prev))) {
        emit((prev !== undefined && TENS.has(prev) && ones < 10 ? String(value).slice(0, -1) + ones : String(value) + ones) + suffix);
      } else emit(String(addSmall(value, ones, ones < 10 ? 10n : 100n)) + suffix);
    } else if (TENS.has(current)) {
      const tens = TENS.get(current)!;
      if (value === null) value = BigInt(tens);
      else if (typeof value === 'string') value = value + tens;
      else value = addSmall(value, tens, 100n);
    } else if (TENS_SUFFIXED.has(current)) {
      const [tens, suffix] = TENS_SUFFIXED.get(current)!;
      if (value === null) emit(tens + suffix);
      else if (typeof value === 'string') emit(value + tens + suffix);
      else emit(String(addSmall(value, tens, 100n)) + suffix);
    } else if (MULTIPLIERS.has(current)) {
      const multiplier = MULTIPLIERS.get(current)!;
      if (value === null) value = multiplier;
      else if (typeof value === 'string' || value === 0n) {
        const scaled = scaleIfWhole(String(value), multiplier);
        if (scaled !== null) value = scaled;
        else {
          emit(value);
          value = multiplier;
        }
      } else value = scaleLastGroup(value, multiplier);
    } else if (MULTIPLIERS_SUFFIXED.has(current)) {
      const [multiplier, suffix] = MULTIPLIERS_SUFFIXED.get(current)!;
      if (value === null) emit(multiplier + suffix);
      else if (typeof value === 'string') {
        const scaled = scaleIfWhole(value, multiplier);
        if (scaled !== null) emit(scaled + suffix);
        else {
          emit(value);
          emit(multiplier + suffix);
        }
      } else emit(scaleLastGroup(value, multiplier) + suffix);
    } else if (PRECEDING_PREFIXERS.has(current)) {
      // "minus", "plus" become a sign only in front of a number
      if (value !== null) emit(value);
      if (nextCanBeNumber) prefix = PRECEDING_PREFIXERS.get(current)!;
      else emit(current);
    } else if (FOLLOWING_PREFIXERS.has(current)) {
      // "dollars", "cents" become a sign only after a number
      if (value !== null) {
        prefix = FOLLOWING_PREFIXERS.get(current)!;
        emit(value);
      } else emit(current);
    } else if (SUFFIXERS.has(current)) {
      const suffix = SUFFIXERS.get(current)!;
      if (value === null) emit(current);
      else if (typeof suffix === 'string') emit(String(value) + suffix);
      else if (next !== undefined && suffix.has(next)) {
        emit(String(value) + suffix.get(next));
        skip = true;
      } else {
        emit(value);
        emit(current);
      }
    } else if (!nextCanBeNumber) {
      // a special word ("and", "point", ...) not followed by a number is a plain word
      if (value !== null) emit(value);
      emit(current);
    } else if (current === 'and') {
      // "hundred and five": "and" after a multiplier is dropped
      if (prev === undefined || !MULTIPLIERS.has(prev)) {
        if (value !== null) emit(value);
        emit(current);
      }
    } else if (current === 'double' || current === 'triple') {
      if (next !== undefined && (ONES.has(next) || ZEROS.has(next))) {
        const digit = String(ONES.get(next) ?? 0);
        value = digitsSoFar(value) + digit.repeat(current === 'double' ? 2 : 3);
        skip = true;
      } else {
        if (value !== null) emit(value);
        emit(current);
      }
    } else if (next !== undefined && (DECIMALS.has(next) || nextIsNumeric)) {
      // "point" before a digit word starts the decimals; otherwise it vanishes, as in Whisper
      value = digitsSoFar(value) + '.';
    }
  }
  if (value !== null) emit(value);
  return out;
}

/** "two thousand five" + "hundred": only the part below a thousand is multiplied. */
function scaleLastGroup(value: bigint, multiplier: bigint): bigint {
  return (value / 1000n) * 1000n + (value % 1000n) * multiplier;
}

const AND_A_HALF = new RegExp(String.raw`${WORD_START}and\s+a\s+half${WORD_END}`, 'u');

/** "two and a half" → "two point five"; digit/letter boundaries get a space unless they form a suffix. */
function preprocess(s: string): string {
  const segments = s.split(AND_A_HALF);
  const parts: string[] = [];
  segments.forEach((segment, i) => {
    if (segment.trim().length === 0) return;
    parts.push(segment);
    if (i === segments.length - 1) return;
    const lastWord = segment.trim().split(/\s+/).pop()!;
    parts.push(DECIMALS.has(lastWord) || MULTIPLIERS.has(lastWord) ? 'point five' : 'and a half');
  });
  return parts
    .join(' ')
    .replace(/([a-z])([0-9])/g, '$1 $2')
    .replace(/([0-9])([a-z])/g, '$1 $2')
    .replace(new RegExp(String.raw`([0-9])\s+(st|nd|rd|th|s)${WORD_END}`, 'gu'), '$1$2');
}

const CURRENCY_AND_CENTS = new RegExp(String.raw`([€£$])([0-9]+) (?:and )?¢([0-9]{1,2})${WORD_END}`, 'gu');
const ZERO_UNITS = new RegExp(String.raw`[€£$]0.([0-9]{1,2})${WORD_END}`, 'gu');
const DIGIT_ONE = new RegExp(String.raw`${WORD_START}1(s?)${WORD_END}`, 'gu');

/** "$2 and ¢7" → "$2.07", "$0.05" → "¢5", and "1"/"1s" back to "one"/"ones" for readability. */
function postprocess(s: string): string {
  return s
    .replace(CURRENCY_AND_CENTS, (_m, currency: string, units: string, cents: string) => `${currency}${units}.${cents.padStart(2, '0')}`)
    .replace(ZERO_UNITS, (_m, cents: string) => `¢${Number(cents)}`)
    .replace(DIGIT_ONE, 'one$1');
}

/** Whisper's EnglishNumberNormalizer on lower-cased, symbol-cleaned text. */
export function normalizeEnglishNumbers(s: string): string {
  const words = preprocess(s).split(/\s+/).filter((w) => w.length > 0);
  return postprocess(processWords(words).join(' '));
}
