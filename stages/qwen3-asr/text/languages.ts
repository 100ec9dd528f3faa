// The languages Qwen3-ASR can be told to transcribe in, and the request values
// that name them: the model's own names in any case, or ISO 639-1 codes (what
// OpenAI's `language` field carries) plus a few common variants.
import { StageError } from '../../../src/runtime/contracts.js';

/** qwen-asr's SUPPORTED_LANGUAGES, in its order. */
export const SUPPORTED_LANGUAGES = [
  'Chinese', 'English', 'Cantonese', 'Arabic', 'German', 'French', 'Spanish', 'Portuguese', 'Indonesian', 'Italian',
  'Korean', 'Russian', 'Thai', 'Vietnamese', 'Japanese', 'Turkish', 'Hindi', 'Malay', 'Dutch', 'Swedish', 'Danish',
  'Finnish', 'Polish', 'Czech', 'Filipino', 'Persian', 'Greek', 'Romanian', 'Hungarian', 'Macedonian',
] as const;

export type SupportedLanguage = (typeof SUPPORTED_LANGUAGES)[number];

export const ERR_INVALID_LANGUAGE = 'ERR_INVALID_LANGUAGE';

/** Language codes → model language names. Cantonese has no ISO 639-1 code, so its 639-3 code stands in. */
const CODES = new Map<string, SupportedLanguage>(Object.entries({
  zh: 'Chinese', cn: 'Chinese', en: 'English', yue: 'Cantonese', ar: 'Arabic', de: 'German', fr: 'French',
  es: 'Spanish', pt: 'Portuguese', id: 'Indonesian', it: 'Italian', ko: 'Korean', ru: 'Russian', th: 'Thai',
  vi: 'Vietnamese', ja: 'Japanese', tr: 'Turkish', hi: 'Hindi', ms: 'Malay', nl: 'Dutch', sv: 'Swedish',
  da: 'Danish', fi: 'Finnish', pl: 'Polish', cs: 'Czech', fil: 'Filipino', tl: 'Filipino', fa: 'Persian',
  el: 'Greek', ro: 'Romanian', hu: 'Hungarian', mk: 'Macedonian',
} satisfies Record<string, SupportedLanguage>));

const BY_NAME = new Map<string, SupportedLanguage>(SUPPORTED_LANGUAGES.map((name) => [name.toLowerCase(), name]));

/** Canonical language name for a request's `language` value; an invalid_input error naming the accepted values otherwise. */
export function resolveLanguage(input: string): SupportedLanguage {
  const key = input.trim().toLowerCase();
  // A region or script subtag (zh-CN, zh-Hant, pt-BR) does not change the language.
  const base = /^([a-z]{2,3})[-_][a-z0-9]+$/.exec(key)?.[1] ?? key;
  const found = BY_NAME.get(key) ?? CODES.get(base);
  if (found) return found;
  throw new StageError(
    ERR_INVALID_LANGUAGE,
    `unsupported language ${JSON.stringify(input)}: use one of ${SUPPORTED_LANGUAGES.join(', ')} (any case), `
      + `or a code: ${[...CODES.keys()].join(', ')} (a region suffix such as zh-CN or pt-BR is allowed)`,
    'invalid_input',
    'language',
  );
}
