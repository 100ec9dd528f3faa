// Languages of the forced aligner (transformers FORCED_ALIGNER_LANGUAGES; the
// model card's 11), request values → names, and which ones this project can
// split into words (Japanese and Korean need segmenters it lacks).
import { StageError } from '../../../src/runtime/contracts.js';

/** Name → ISO code, as transformers' LANGUAGE_CODE_TO_NAME names them. */
export const ALIGNER_LANGUAGES: Record<string, string> = {
  Chinese: 'zh', English: 'en', Cantonese: 'yue', French: 'fr', German: 'de', Italian: 'it',
  Japanese: 'ja', Korean: 'ko', Portuguese: 'pt', Russian: 'ru', Spanish: 'es',
};

/** The official code segments these with nagisa / soynlp. */
const NEEDS_SEGMENTER = new Set(['Japanese', 'Korean']);

export const ERR_ALIGN_LANGUAGE = 'ERR_ALIGN_LANGUAGE';

/** A language name or code (any case) → its aligner name, or undefined when the aligner lacks it. */
export function alignerLanguage(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  return Object.entries(ALIGNER_LANGUAGES).find(([name, code]) => name.toLowerCase() === v || code === v)?.[0];
}

/**
 * The language words are split for: a request's own `language` must be one the aligner supports
 * (an invalid_input error naming it otherwise); a language the ASR model detected and the aligner lacks is split the
 * default way, as qwen-asr does (it passes the detected name through). Japanese and Korean: invalid_input.
 */
export function splittingLanguage(value: string | undefined, source: 'request' | 'detected', param = 'language'): string | undefined {
  if (!value) return undefined;
  const name = alignerLanguage(value);
  if (!name && source === 'request') {
    throw new StageError(ERR_ALIGN_LANGUAGE, `language ${JSON.stringify(value)} is not supported by the forced aligner; supported: ${Object.entries(ALIGNER_LANGUAGES).map(([n, c]) => `${n} (${c})`).join(', ')}`, 'invalid_input', param);
  }
  if (name && NEEDS_SEGMENTER.has(name)) {
    throw new StageError(ERR_ALIGN_LANGUAGE, `word timestamps for ${name} need a ${name} word segmenter (the official aligner uses ${name === 'Japanese' ? 'nagisa' : 'soynlp'}), which this server does not have`, 'invalid_input', param);
  }
  return name;
}
