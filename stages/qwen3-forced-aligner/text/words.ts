// Transcript → the units the aligner times, as transformers'
// Qwen3ASRProcessor.split_words_for_alignment (and qwen-asr's
// Qwen3ForceAlignProcessor.tokenize_space_lang) split it: CJK ideographs one
// by one, other text at whitespace, keeping only letters, numbers and the
// apostrophe (punctuation inside a word is dropped without splitting it:
// "e-mail" → "email"). Japanese and Korean need morphological segmenters
// (nagisa, soynlp) in the official code; this project has none, so those
// languages are refused by languages.ts before splitting.

/** The CJK ideograph blocks of transformers' _is_cjk_char (the original omits the last one, all letters anyway). */
const CJK_RANGES: [number, number][] = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b820, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];

export function isCjk(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return CJK_RANGES.some(([lo, hi]) => c >= lo && c <= hi);
}

const KEPT = /^[\p{L}\p{N}']$/u;
const SPACE = /^\s$/u;

export function splitWords(text: string): string[] {
  const words: string[] = [];
  let buf = '';
  const flush = () => { if (buf) words.push(buf); buf = ''; };
  for (const ch of text.trim()) {
    if (isCjk(ch)) { flush(); words.push(ch); } else if (SPACE.test(ch)) flush(); else if (KEPT.test(ch)) buf += ch;
  }
  flush();
  return words;
}
