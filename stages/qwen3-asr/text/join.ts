// Joining the transcripts of consecutive audio segments. Scripts written
// without spaces between words (Chinese, Japanese, Thai…) join directly; others
// get one space, unless the seam already has whitespace or punctuation that
// attaches to the word before it.

const UNSPACED_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\u3000-\u303f\uff00-\uffef]/u;
const CLOSING_PUNCTUATION = /^[.,!?;:%)\]}»”’…]/u;
const OPENING_PUNCTUATION = /[(\[{«“‘]$/u;

/** What goes between text `before` and text `after` when they are joined: '' or ' '. */
export function segmentSeam(before: string, after: string): string {
  if (!before || !after || /\s$/u.test(before) || /^\s/u.test(after)) return '';
  const last = Array.from(before).pop()!;
  const first = String.fromCodePoint(after.codePointAt(0)!);
  if (UNSPACED_SCRIPT.test(last) || UNSPACED_SCRIPT.test(first)) return '';
  if (CLOSING_PUNCTUATION.test(after) || OPENING_PUNCTUATION.test(before)) return '';
  return ' ';
}

/** Segment texts as one transcript; empty segments (silence) leave no trace. */
export function joinSegmentTexts(texts: string[]): string {
  let out = '';
  for (const text of texts) {
    if (text) out += segmentSeam(out, text) + text;
  }
  return out;
}
