// Turns reference and hypothesis text into the tokens the error rate counts:
// Whisper-normalised words for English, characters for Chinese (CER, as
// sglang-omni scores its ZH set), Whisper's basic normaliser otherwise.
import { createBasicNormalizer } from './normalize/basic.js';
import { normalizeChinese } from './normalize/chinese.js';
import { normalizeEnglish } from './normalize/english.js';

export interface Tokenizer {
  /** 'word' → WER, 'character' → CER. */
  unit: 'word' | 'character';
  tokens(text: string): string[];
}

const splitWords = (s: string) => s.split(/\s+/).filter((w) => w.length > 0);

export function tokenizerFor(language: string): Tokenizer {
  const lang = language.toLowerCase();
  if (lang === 'en' || lang === 'english') return { unit: 'word', tokens: (s) => splitWords(normalizeEnglish(s)) };
  if (lang === 'zh' || lang === 'chinese' || lang.startsWith('zh-')) {
    return { unit: 'character', tokens: (s) => splitWords(normalizeChinese(s)) };
  }
  const basic = createBasicNormalizer();
  return { unit: 'word', tokens: (s) => splitWords(basic(s)) };
}
