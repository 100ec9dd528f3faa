// The original Qwen3-ASR repos ship only vocab.json + merges.txt +
// tokenizer_config.json (no tokenizer.json). This builds, in memory, the
// tokenizer.json that transformers' Qwen2 converter would produce from them,
// so one library (@huggingface/tokenizers) handles both kinds of checkpoint.

/** Qwen2's pre-tokenizer split (contractions, letters, single digits, punctuation runs, newlines, spaces). */
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

export interface AddedTokenEntry {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** tokenizer_config.json's added_tokens_decoder ({ "151643": { content, special, ... } }) as a list. */
export function addedTokensOf(config: Record<string, any>): AddedTokenEntry[] {
  const decoder: Record<string, Record<string, unknown>> = config.added_tokens_decoder ?? {};
  return Object.entries(decoder).map(([id, t]) => ({
    id: Number(id),
    content: String(t.content),
    single_word: Boolean(t.single_word),
    lstrip: Boolean(t.lstrip),
    rstrip: Boolean(t.rstrip),
    normalized: Boolean(t.normalized),
    special: Boolean(t.special),
  }));
}

/** merges.txt lines ("Ġ t"), skipping the "#version" header and blank lines. */
export function parseMerges(text: string): [string, string][] {
  const merges: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#version')) continue;
    const space = line.indexOf(' ');
    if (space <= 0) throw new Error(`merges.txt line ${merges.length + 1} is not "left right": ${JSON.stringify(line)}`);
    merges.push([line.slice(0, space), line.slice(space + 1)]);
  }
  return merges;
}

export function qwen2TokenizerJson(vocab: Record<string, number>, merges: [string, string][], added: AddedTokenEntry[]): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN2_SPLIT }, behavior: 'Isolated', invert: false }, BYTE_LEVEL],
    },
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}
