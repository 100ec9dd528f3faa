// Chinese text for character error rate, as sglang-omni's ASR benchmark prepares
// it: drop Chinese (zhon.hanzi.punctuation) and ASCII punctuation except the
// apostrophe, drop spaces, and space-separate what is left so that each
// character is scored as a word.

/** zhon.hanzi.punctuation: fullwidth forms, CJK brackets and marks, dashes, quotes, ellipsis, middle dot and stops. */
const HANZI_PUNCTUATION =
  '＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､\u3000、〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏﹑﹔·' +
  '．！？｡。';
/** Python's string.punctuation without the apostrophe, which joins English words inside Chinese text. */
const ASCII_PUNCTUATION = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~';

const DROPPED = new Set([...HANZI_PUNCTUATION, ...ASCII_PUNCTUATION]);

export function normalizeChinese(s: string): string {
  return [...s].filter((c) => !DROPPED.has(c) && !/\s/u.test(c)).join(' ');
}
