// include[]=logprobs for Qwen3-ASR: each transcript token's log-probability in
// OpenAI's shape ({ token, logprob, bytes }). The transcript's tokens are those
// after <asr_text> (the `language X<asr_text>` header is metadata, as in the
// text), or all of them when the language was forced (the header is then in the
// prompt). The logprob is the sampler's: the model's own, before temperature and
// repetition penalty. They list what the model generated, before the text's
// repetition cleanup (parse.ts) and prompt-echo strip (prompt-echo.ts).
import type { TokenLogprob } from '../../../src/contracts/transcription.js';
import type { SequenceOutput } from '../../common/engine/sequence.js';
import type { AsrTextCodec } from '../text/index.js';

type TokenCodec = Pick<AsrTextCodec, 'textTagId' | 'tokenBytes' | 'isSpecial' | 'decode'>;

const bytesOf = (codec: TokenCodec, id: number) => codec.tokenBytes?.(id) ?? [...Buffer.from(codec.decode([id]), 'utf8')];
const special = (codec: TokenCodec, id: number) => codec.isSpecial?.(id) ?? false;

function entry(codec: TokenCodec, id: number, logprob: number): TokenLogprob {
  const bytes = bytesOf(codec, id);
  // OpenAI's token is the text; a token holding part of a character shows U+FFFD there, its bytes stay exact.
  return { token: Buffer.from(bytes).toString('utf8'), logprob, bytes };
}

/** The transcript tokens of a finished sequence, with their log-probabilities (EOS is not a token of the text). */
export function segmentLogprobs(codec: TokenCodec, out: SequenceOutput, headerInPrompt: boolean): TokenLogprob[] {
  const tag = headerInPrompt || codec.textTagId === undefined ? -1 : out.tokens.indexOf(codec.textTagId);
  const entries: TokenLogprob[] = [];
  for (let i = tag + 1; i < out.tokens.length; i++) {
    if (!special(codec, out.tokens[i])) entries.push(entry(codec, out.tokens[i], out.logprobs[i]));
  }
  return entries;
}

/**
 * The same entries while streaming, handed out with the text piece that shows them: entries wait
 * until a token completes visible text (header tokens are dropped once <asr_text> arrives).
 */
export class StreamedLogprobs {
  private pending: TokenLogprob[] = [];
  private inHeader: boolean;

  constructor(private readonly codec: TokenCodec, headerInPrompt: boolean) {
    this.inHeader = !headerInPrompt && codec.textTagId !== undefined;
  }

  /** Records token `id`; returns the entries that go with `text` (the piece this token produced). */
  push(id: number, logprob: number, text: string): TokenLogprob[] | undefined {
    if (this.inHeader && id === this.codec.textTagId) {
      this.inHeader = false;
      this.pending = [];
      return undefined;
    }
    if (!special(this.codec, id)) this.pending.push(entry(this.codec, id, logprob));
    return text ? this.take() : undefined;
  }

  /** Whatever is still pending when the sequence ends. */
  flush(): TokenLogprob[] | undefined {
    return this.pending.length ? this.take() : undefined;
  }

  private take(): TokenLogprob[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }
}
