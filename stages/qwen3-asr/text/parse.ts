// Turns the model's raw output into transcript and language, as qwen-asr's
// parse_asr_output does. Speech comes out as `language English<asr_text>TEXT`,
// silence as `language None<asr_text>`; with a forced language the header is
// part of the prompt, so everything generated is transcript.

import { fixRepetitions } from './repetitions.js';

export { fixRepetitions, REPETITION_THRESHOLD } from './repetitions.js';

export const ASR_TEXT_TAG = '<asr_text>';
const LANGUAGE_PREFIX = 'language ';

export interface ParsedOutput {
  text: string;
  /** Language the model named, capitalised ("English"); '' for no speech or no header. */
  language: string;
}

// Python's str.strip() and str.splitlines(), which the reference uses: both know more
// characters than JavaScript's trim() and /\r?\n/ (e.g. \x1c-\x1f, \x85; trim() also drops \ufeff).
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const PY_LINE_BREAK = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;
const pyStrip = (s: string) => s.replace(PY_STRIP, '');
const PY_LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`);
/** Python's str.lstrip(): what the parsed text loses at its start, so a stream can drop the same. */
export const pyStripStart = (s: string) => s.replace(PY_LEADING_SPACE, '');
const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`);
/** Python's str.rstrip(): what the parsed text loses at its end, so a stream can hold the same back. */
export const pyStripEnd = (s: string) => s.replace(PY_TRAILING_SPACE, '');

/** "ENGLISH" → "English": the model's names have an initial capital and the rest lower case. */
export function normaliseLanguageName(name: string): string {
  const [first = '', ...rest] = Array.from(pyStrip(name));
  return first.toUpperCase() + rest.join('').toLowerCase();
}

/**
 * The language a header names, as qwen-asr's parse_asr_output reads it: the first non-empty
 * line that starts with "language " (any case) decides, even when nothing follows it; lines
 * before it that say something else are skipped.
 */
function headerLanguage(header: string): string {
  for (const raw of header.split(PY_LINE_BREAK)) {
    const line = pyStrip(raw);
    if (!line.toLowerCase().startsWith(LANGUAGE_PREFIX)) continue;
    const named = pyStrip(line.slice(LANGUAGE_PREFIX.length));
    return named ? normaliseLanguageName(named) : '';
  }
  return '';
}

/** Raw generated text (special tokens already dropped) → transcript and language. */
export function parseAsrOutput(raw: string, forcedLanguage?: string): ParsedOutput {
  const s = fixRepetitions(pyStrip(raw));
  if (forcedLanguage) return { text: s, language: forcedLanguage };
  const tag = s.indexOf(ASR_TEXT_TAG);
  if (tag < 0) return { text: s, language: '' };
  const header = s.slice(0, tag);
  const text = pyStrip(s.slice(tag + ASR_TEXT_TAG.length));
  if (header.toLowerCase().includes('language none')) return { text, language: '' };
  return { text, language: headerLanguage(header) };
}

/** Languages of consecutive segments as one value: "Chinese,English" (empties and repeats in a row dropped). */
export function mergeLanguages(languages: string[]): string {
  const out: string[] = [];
  for (const raw of languages) {
    const lang = raw.trim();
    if (lang && lang !== out[out.length - 1]) out.push(lang);
  }
  return out.join(',');
}
