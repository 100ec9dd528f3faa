// TypeScript port of the symbol/diacritic cleaning and BasicTextNormalizer from
// OpenAI Whisper's normalizers/basic.py (MIT, Copyright (c) 2022 OpenAI; notice
// in configs/eval/WHISPER-LICENSE). Scoring only stays comparable with published
// WER numbers if the text is normalised exactly as Whisper does.

/** Non-ASCII letters that NFKD does not split into base letter + combining mark. */
const EXTRA_DIACRITICS = new Map<string, string>([
  ['œ', 'oe'], ['Œ', 'OE'], ['ø', 'o'], ['Ø', 'O'], ['æ', 'ae'], ['Æ', 'AE'],
  ['ß', 'ss'], ['ẞ', 'SS'], ['đ', 'd'], ['Đ', 'D'], ['ð', 'd'], ['Ð', 'D'],
  ['þ', 'th'], ['Þ', 'th'], ['ł', 'l'], ['Ł', 'L'],
]);

const NONSPACING_MARK = /^\p{Mn}$/u;
/** Unicode general categories M (marks), S (symbols) and P (punctuation). */
const MARK_SYMBOL_PUNCT = /^[\p{M}\p{S}\p{P}]$/u;

/**
 * Python's `\w` on str: letters, digits/numbers and underscore. JavaScript's `\b` is
 * ASCII-only even with the u flag, so Whisper's `\b` is rebuilt from lookarounds.
 */
const WORD_CHAR = String.raw`[\p{L}\p{N}_]`;
/** `\b` before a pattern that starts with a word character. */
export const WORD_START = `(?<!${WORD_CHAR})`;
/** `\b` after a pattern that ends with a word character. */
export const WORD_END = `(?!${WORD_CHAR})`;

/**
 * Replaces marks, symbols and punctuation with a space and drops diacritics
 * (nonspacing marks after NFKD plus the letters in EXTRA_DIACRITICS); characters
 * in `keep` pass through untouched.
 */
export function removeSymbolsAndDiacritics(s: string, keep = ''): string {
  let out = '';
  for (const c of s.normalize('NFKD')) {
    if (keep.includes(c)) out += c;
    else if (EXTRA_DIACRITICS.has(c)) out += EXTRA_DIACRITICS.get(c);
    else if (NONSPACING_MARK.test(c)) continue;
    else out += MARK_SYMBOL_PUNCT.test(c) ? ' ' : c;
  }
  return out;
}

/** Replaces marks, symbols and punctuation with a space, keeping diacritics (NFKC). */
export function removeSymbols(s: string): string {
  let out = '';
  for (const c of s.normalize('NFKC')) out += MARK_SYMBOL_PUNCT.test(c) ? ' ' : c;
  return out;
}

/** Drops `[...]`/`<...>` annotations and `(...)` asides, as both Whisper normalisers do first. */
export function removeBracketed(s: string): string {
  return s.replace(/[<[][^>\]]*[>\]]/g, '').replace(/\(([^)]+?)\)/g, '');
}

export interface BasicNormalizerOptions {
  removeDiacritics?: boolean;
  /** Space-separate grapheme clusters (Whisper's `split_letters`, used for scripts without spaces). */
  splitLetters?: boolean;
}

/** Whisper's BasicTextNormalizer: the language-independent normaliser. */
export function createBasicNormalizer(options: BasicNormalizerOptions = {}): (s: string) => string {
  const clean = options.removeDiacritics ? removeSymbolsAndDiacritics : removeSymbols;
  const graphemes = options.splitLetters ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;
  return (input: string) => {
    let s = clean(removeBracketed(input.toLowerCase())).toLowerCase();
    if (graphemes) s = Array.from(graphemes.segment(s), (g) => g.segment).join(' ');
    return s.replace(/\s+/g, ' ');
  };
}
