// A small byte-level BPE vocabulary (GPT-2 byte↔unicode alphabet, merges learnt
// from a fixed English text) and Qwen's special tokens, in the files the
// original checkpoints ship: vocab.json, merges.txt, tokenizer_config.json.
// Real-size checkpoints place the specials at Qwen's real ids; tiny ones place
// them right after the regular vocabulary.

const TRAINING_TEXT = `And so my fellow Americans ask not what your country can do for you ask what you can do for your country.
The quick brown fox jumps over the lazy dog. Speech recognition turns spoken language into written text.
This is a test of the transcription server, one two three four five six seven eight nine ten.
Hello world, the weather today is sunny with a chance of rain in the afternoon and the evening.`;

/** Qwen's special tokens that matter to Qwen3-ASR, at their real ids. */
export const QWEN_SPECIAL_TOKENS: [number, string, boolean][] = [
  [151643, '<|endoftext|>', true],
  [151644, '<|im_start|>', true],
  [151645, '<|im_end|>', true],
  [151667, '<think>', false],
  [151668, '</think>', false],
  [151669, '<|audio_start|>', true],
  [151670, '<|audio_end|>', true],
  [151676, '<|audio_pad|>', true],
  [151704, '<asr_text>', false],
  [151705, '<timestamp>', true],
];
export const QWEN_FIRST_SPECIAL = 151643;

/** Qwen3's added tokens between the ones above (ids 151646-151666), as its tokenizer_config lists them. */
const QWEN3_OTHER_TOKENS: [string, boolean][] = [
  ['<|object_ref_start|>', true], ['<|object_ref_end|>', true], ['<|box_start|>', true], ['<|box_end|>', true],
  ['<|quad_start|>', true], ['<|quad_end|>', true], ['<|vision_start|>', true], ['<|vision_end|>', true],
  ['<|vision_pad|>', true], ['<|image_pad|>', true], ['<|video_pad|>', true], ['<tool_call>', false], ['</tool_call>', false],
  ['<|fim_prefix|>', false], ['<|fim_middle|>', false], ['<|fim_suffix|>', false], ['<|fim_pad|>', false],
  ['<|repo_name|>', false], ['<|file_sep|>', false], ['<tool_response>', false], ['</tool_response>', false],
];

/**
 * Every added token from <|endoftext|> to the last Qwen3-ASR one, without gaps: Hugging Face's
 * tokenizer renumbers added tokens whose ids leave holes. Ids whose real names are not known
 * here (Qwen3-ASR's other audio/TTS tokens) get a named stand-in.
 */
export function qwenAddedTokens(): [number, string, boolean][] {
  const known = new Map<number, [string, boolean]>(QWEN_SPECIAL_TOKENS.map(([id, content, special]) => [id, [content, special]]));
  QWEN3_OTHER_TOKENS.forEach((token, i) => known.set(151646 + i, token));
  const last = QWEN_SPECIAL_TOKENS[QWEN_SPECIAL_TOKENS.length - 1][0];
  return Array.from({ length: last - QWEN_FIRST_SPECIAL + 1 }, (_, i) => {
    const id = QWEN_FIRST_SPECIAL + i;
    const [content, special] = known.get(id) ?? [`<|reserved_${id}|>`, true];
    return [id, content, special];
  });
}

/**
 * vocab.json filled up to the first added token: a real-size checkpoint's regular tokens end at
 * 151642 (here a few hundred are learnt), so the rest get placeholder entries no merge produces.
 */
export function gapFreeVocab(vocab: Record<string, number>, firstAdded: number): Record<string, number> {
  const out = { ...vocab };
  for (let id = Object.keys(vocab).length; id < firstAdded; id++) out[`<unused_${id}>`] = id;
  return out;
}

/** GPT-2's reversible byte → printable unicode character map. */
export function byteToUnicode(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const out: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = keep.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return out;
}

export interface BpeVocab {
  vocab: Record<string, number>;
  merges: string[];
}

/** Learns `count` merges over the training text's words (with Ġ for a leading space). */
export function learnBpe(count: number): BpeVocab {
  const b2u = byteToUnicode();
  const vocab: Record<string, number> = {};
  b2u.forEach((ch, i) => { vocab[ch] = i; });
  const enc = new TextEncoder();
  const words = new Map<string, number>();
  for (const w of TRAINING_TEXT.split(/(?= )|\n/)) {
    if (!w) continue;
    const key = Array.from(enc.encode(w), (b) => b2u[b]).join('\u0000');
    words.set(key, (words.get(key) ?? 0) + 1);
  }
  let seqs = [...words].map(([k, n]) => ({ parts: k.split('\u0000'), n }));
  const merges: string[] = [];
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { parts, n } of seqs) for (let i = 0; i + 1 < parts.length; i++) {
      const p = parts[i] + ' ' + parts[i + 1];
      pairs.set(p, (pairs.get(p) ?? 0) + n);
    }
    let best = '';
    let bestN = 1;
    for (const [p, n] of pairs) if (n > bestN || (n === bestN && best && p < best)) { best = p; bestN = n; }
    if (!best) break;
    const [l, r] = best.split(' ');
    merges.push(best);
    vocab[l + r] = Object.keys(vocab).length;
    seqs = seqs.map(({ parts, n }) => {
      const merged: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === l && parts[i + 1] === r) { merged.push(l + r); i++; } else merged.push(parts[i]);
      }
      return { parts: merged, n };
    });
  }
  return { vocab, merges };
}

/** Special-token id for a checkpoint: real ids, or packed after `base` for tiny ones. */
export function specialId(realId: number, base: number | null): number {
  return base === null ? realId : base + (realId - QWEN_FIRST_SPECIAL);
}

export function tokenizerConfig(base: number | null): Record<string, unknown> {
  const decoder: Record<string, unknown> = {};
  for (const [id, content, special] of qwenAddedTokens()) {
    decoder[String(specialId(id, base))] = { content, lstrip: false, normalized: false, rstrip: false, single_word: false, special };
  }
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: decoder,
    // Qwen3ASRProcessor reads the audio placeholders from these.
    audio_bos_token: '<|audio_start|>',
    audio_eos_token: '<|audio_end|>',
    audio_token: '<|audio_pad|>',
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 65536,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}
