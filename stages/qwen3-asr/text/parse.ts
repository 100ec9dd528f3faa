// Turns the model's raw output into transcript and language, as qwen-asr's
// parse_asr_output does. Speech comes out as `language English<asr_text>TEXT`,
// silence as `language None<asr_text>`; with a forced language the header is
// part of the prompt, so everything generated is transcript.

export const ASR_TEXT_TAG = '<asr_text>';
const LANGUAGE_PREFIX = 'language ';
/** qwen-asr's threshold: runs longer than this are decoding loops, not speech. */
export const REPETITION_THRESHOLD = 20;
/** Longest repeated pattern (in characters) that is looked for. */
const MAX_PATTERN_CHARS = 20;

export interface ParsedOutput {
  text: string;
  /** Language the model named, capitalised ("English"); '' for no speech or no header. */
  language: string;
}

/** A character repeated more than `threshold` times in a row becomes one. */
function collapseCharRuns(s: string, threshold: number): string {
  const chars = Array.from(s);
  let out = '';
  for (let i = 0; i < chars.length;) {
    let run = 1;
    while (i + run < chars.length && chars[i + run] === chars[i]) run++;
    out += run > threshold ? chars[i] : chars.slice(i, i + run).join('');
    i += run;
  }
  return out;
}

/** Length of the run of `pattern` copies starting at `start`, when there are at least `threshold` of them. */
function patternRun(chars: string[], start: number, k: number, threshold: number): number {
  const same = (a: number, b: number) => {
    for (let j = 0; j < k; j++) if (chars[a + j] !== chars[b + j]) return false;
    return true;
  };
  let copies = 1;
  while (start + (copies + 1) * k <= chars.length && same(start, start + copies * k)) copies++;
  return copies >= threshold ? copies * k : 0;
}

/**
 * The first pattern of 1..20 characters repeated `threshold` or more times becomes one copy,
 * and the rest is scanned again. Like the reference, a run is only looked for where at least
 * 2·threshold characters remain.
 */
function collapsePatternRuns(s: string, threshold: number): string {
  let chars = Array.from(s);
  let out = '';
  let i = 0;
  while (i <= chars.length - 2 * threshold) {
    let runLength = 0;
    let k = 1;
    for (; k <= MAX_PATTERN_CHARS && i + k * threshold <= chars.length; k++) {
      runLength = patternRun(chars, i, k, threshold);
      if (runLength) break;
    }
    if (runLength) {
      out += chars.slice(i, i + k).join('');
      chars = chars.slice(i + runLength);
      i = 0;
    } else {
      out += chars[i++];
    }
  }
  return out + chars.slice(i).join('');
}

/** qwen-asr's detect_and_fix_repetitions: collapses decoding loops (character runs, then pattern runs). */
export function fixRepetitions(text: string, threshold = REPETITION_THRESHOLD): string {
  return collapsePatternRuns(collapseCharRuns(text, threshold), threshold);
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
