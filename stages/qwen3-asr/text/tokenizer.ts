// Qwen2 byte-level BPE tokenizer of a Qwen3-ASR checkpoint, on @huggingface/tokenizers.
// Uses tokenizer.json when the folder has one ("-hf" repos), otherwise builds
// it from vocab.json + merges.txt + tokenizer_config.json (original repos).
import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { StageError } from '../../../src/runtime/contracts.js';
import { byteLevelBytes } from './byte-level.js';
import { addedTokensOf, parseMerges, qwen2TokenizerJson } from './tokenizer-json.js';

export const ERR_MODEL_TOKENIZER = 'ERR_MODEL_TOKENIZER';

export interface DecodeOptions {
  /** Drop tokens flagged special (<|im_end|>, <|audio_pad|>…); non-special added tokens such as <asr_text> stay. */
  skipSpecial?: boolean;
}

export class QwenTokenizer {
  private readonly specialIds: Set<number>;
  private readonly addedIds: Set<number>;

  constructor(private readonly inner: Tokenizer) {
    const added = [...inner.get_added_tokens_decoder()];
    this.addedIds = new Set(added.map(([id]) => id));
    this.specialIds = new Set(added.filter(([, t]) => t.special).map(([id]) => id));
  }

  /** Plain BPE ids of `text`: no BOS/EOS or chat tokens are added; special-token text in `text` maps to its id. */
  encode(text: string): number[] {
    return this.inner.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    if (ids.length === 0) return ''; // the library rejects an empty list
    return this.inner.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecial ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.inner.token_to_id(token);
  }

  /** Id of a token the model cannot work without; a clear error when the checkpoint lacks it. */
  requireTokenId(token: string): number {
    const id = this.tokenToId(token);
    if (id === undefined) throw new StageError(ERR_MODEL_TOKENIZER, `the checkpoint's tokenizer has no ${token} token`, 'internal');
    return id;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The exact bytes of token `id` (part of a character, possibly); an added token's are its text's UTF-8. */
  tokenBytes(id: number): number[] {
    const token = this.inner.id_to_token(id) ?? '';
    return (this.addedIds.has(id) ? undefined : byteLevelBytes(token)) ?? [...Buffer.from(token, 'utf8')];
  }

  /** Any token from added_tokens (special or not, e.g. <asr_text>): never produced by BPE merges. */
  isAddedToken(id: number): boolean {
    return this.addedIds.has(id);
  }
}

function readFile(dir: string, name: string): string {
  try {
    return fs.readFileSync(path.join(dir, name), 'utf8');
  } catch (err) {
    throw new StageError(ERR_MODEL_TOKENIZER, `cannot read ${name} in ${dir}: ${(err as Error).message}`, 'internal');
  }
}

function readJson(dir: string, name: string): Record<string, any> {
  const text = readFile(dir, name);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new StageError(ERR_MODEL_TOKENIZER, `${name} in ${dir} is not valid JSON: ${(err as Error).message}`, 'internal');
  }
}

export function loadQwenTokenizer(dir: string): QwenTokenizer {
  const config = readJson(dir, 'tokenizer_config.json');
  try {
    const json = fs.existsSync(path.join(dir, 'tokenizer.json'))
      ? readJson(dir, 'tokenizer.json')
      : qwen2TokenizerJson(readJson(dir, 'vocab.json'), parseMerges(readFile(dir, 'merges.txt')), addedTokensOf(config));
    return new QwenTokenizer(new Tokenizer(json, config));
  } catch (err) {
    if (err instanceof StageError) throw err;
    throw new StageError(ERR_MODEL_TOKENIZER, `cannot build the tokenizer of ${dir}: ${(err as Error).message}`, 'internal');
  }
}
