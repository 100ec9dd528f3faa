// Everything text-side the decoder stage needs from one checkpoint folder:
// the tokenizer, prompt ids, streaming detokenizer, output parsing, and the
// token ids that end generation. Ids come from the checkpoint, never constants,
// so the tiny test checkpoint (specials packed after a small vocabulary) and the
// released ones work alike.
import { StageError } from '../../../src/runtime/contracts.js';
import { loadQwen3AsrConfig } from '../config.js';
import { answerPrefixText } from './answer-prefix.js';
import { StreamingDetokenizer } from './detokenizer.js';
import { joinSegmentTexts, segmentSeam } from './join.js';
import { resolveLanguage } from './languages.js';
import { ASR_TEXT_TAG, mergeLanguages, parseAsrOutput, type ParsedOutput } from './parse.js';
import { PromptBuilder } from './prompt.js';
import { loadQwenTokenizer, type QwenTokenizer } from './tokenizer.js';

/** What the Qwen3-ASR side of decoding (decode/transcription.ts) codes against: prompt, text, parse. */
export interface AsrTextCodec {
  /** `answer`: text the answer is forced to start with (answerPrefix's result), tokenized with the prompt as one string. */
  promptIds(context: string, audioTokens: number, language: string | undefined, answer?: string): Int32Array;
  /** request answer_prefix → the text to force: its last `unfixed` tokens dropped; invalid_input on control tokens. */
  answerPrefix?(prefix: string, unfixed: number): string;
  detokenizer(): { push(id: number): string; flush(): string };
  /** Generated ids → text, special tokens dropped (<asr_text> stays, for parse). */
  decode(ids: ArrayLike<number>): string;
  parse(raw: string, forcedLanguage: string | undefined): ParsedOutput;
  join(texts: string[]): string;
  seam(before: string, after: string): string;
  mergeLanguages(languages: string[]): string;
  /** "language None" = no speech: token 1 of the output is `tokenId` when token 0 is `afterId`. */
  noSpeech?: { afterId: number; tokenId: number };
  /** <asr_text>, which ends the language header; the transcript's tokens follow it. */
  textTagId?: number;
  /** A token's exact bytes, for include[]=logprobs (a codec without it reports its decoded text's bytes). */
  tokenBytes?(id: number): number[];
  /** Special tokens (EOS, chat markers) are no part of any text. */
  isSpecial?(id: number): boolean;
}

export interface AsrText {
  tokenizer: QwenTokenizer;
  codec: AsrTextCodec;
  /** Generation stops at any of these (<|im_end|>, <|endoftext|>). */
  eosIds: number[];
  /** <|audio_pad|>: the prompt positions the audio embeddings replace. */
  audioTokenId: number;
  /** Request `language` value → model language name; an invalid_input StageError (param 'language') when unsupported. */
  resolveLanguage(value: string): string;
}

/** Ids of `text` when it is exactly one token. */
function singleToken(tokenizer: QwenTokenizer, text: string): number | undefined {
  const ids = tokenizer.encode(text);
  return ids.length === 1 ? ids[0] : undefined;
}

function checkConfigAgrees(tokenizer: QwenTokenizer, token: string, configId: number, key: string): void {
  const id = tokenizer.requireTokenId(token);
  if (id !== configId) {
    throw new StageError('ERR_MODEL_CONFIG', `config.json ${key} is ${configId} but the tokenizer has ${token} at ${id}`, 'internal');
  }
}

export function loadAsrText(dir: string): AsrText {
  const config = loadQwen3AsrConfig(dir);
  const tokenizer = loadQwenTokenizer(dir);
  checkConfigAgrees(tokenizer, '<|audio_pad|>', config.audioTokenId, 'audio_token_id');
  checkConfigAgrees(tokenizer, '<|audio_start|>', config.audioStartTokenId, 'audio_start_token_id');
  checkConfigAgrees(tokenizer, '<|audio_end|>', config.audioEndTokenId, 'audio_end_token_id');
  const eosIds = config.eosTokenIds;
  if (eosIds.length === 0) throw new StageError('ERR_MODEL_CONFIG', `${dir} names no end-of-sequence token (generation_config.json eos_token_id)`, 'internal');
  const prompts = new PromptBuilder(tokenizer);
  const languageId = singleToken(tokenizer, 'language');
  const noneId = singleToken(tokenizer, ' None');

  const codec: AsrTextCodec = {
    promptIds: (context, audioTokens, language, answer) => prompts.build({ context, audioTokens, language, answer }),
    answerPrefix: (prefix, unfixed) => answerPrefixText(tokenizer, prefix, unfixed),
    detokenizer: () => new StreamingDetokenizer(tokenizer),
    decode: (ids) => tokenizer.decode(ids, { skipSpecial: true }),
    parse: (raw, forcedLanguage) => parseAsrOutput(raw, forcedLanguage),
    join: joinSegmentTexts,
    seam: segmentSeam,
    mergeLanguages,
    noSpeech: languageId !== undefined && noneId !== undefined ? { afterId: languageId, tokenId: noneId } : undefined,
    textTagId: tokenizer.tokenToId(ASR_TEXT_TAG),
    tokenBytes: (id) => tokenizer.tokenBytes(id),
    isSpecial: (id) => tokenizer.isSpecial(id),
  };
  return { tokenizer, codec, eosIds, audioTokenId: config.audioTokenId, resolveLanguage };
}
