// The streamed text of one Qwen3-ASR segment, token by token: ids become text
// (StreamingDetokenizer), the `language X<asr_text>` header is held back
// (language-header.ts), an echo of the prompt's term list is dropped
// (prompt-echo.ts), the repetition cleanup shows only what the final text keeps
// (text/repetitions.ts: a decoding loop's copies are never streamed), and with
// include[]=logprobs each piece carries the log-probabilities of the tokens
// generated (token-logprobs.ts; they list loops too, as the final ones do).
import type { StreamPiece, TextStream } from '../../common/engine/segments.js';
import type { AsrTextCodec } from '../text/index.js';
import { pyStripEnd } from '../text/parse.js';
import { RepetitionScanner, type Shown } from '../text/repetitions.js';
import type { TokenLogprob } from '../../../src/contracts/transcription.js';
import { LanguageHeaderFilter } from './language-header.js';
import { PromptEchoFilter, type EchoPiece } from './prompt-echo.js';
import { StreamedLogprobs } from './token-logprobs.js';

export interface SegmentStreamOptions {
  /** The language was forced: the header is in the prompt, not in the output. */
  headerInPrompt: boolean;
  /** The prompt's term list (promptTerms), when it has one. */
  terms?: string[];
  /** include[]=logprobs. */
  tokenLogprobs: boolean;
}

export function segmentStream(codec: AsrTextCodec, opts: SegmentStreamOptions): TextStream {
  const detokenizer = codec.detokenizer();
  const header = new LanguageHeaderFilter(opts.headerInPrompt);
  const echo = new PromptEchoFilter(opts.terms);
  const logprobs = opts.tokenLogprobs ? new StreamedLogprobs(codec, opts.headerInPrompt) : undefined;
  const cleaned = new CleanedText();
  const out = (piece: EchoPiece): StreamPiece => (logprobs ? piece : piece.text);
  return {
    push(id, logprob) {
      const text = header.push(detokenizer.push(id));
      return out(cleaned.push(echo.push({ text, logprobs: logprobs?.push(id, logprob, text) })));
    },
    flush() {
      const text = header.push(detokenizer.flush()) + header.flush();
      const last = cleaned.push(echo.push({ text, logprobs: logprobs?.flush() }));
      const rest = cleaned.push(echo.flush());
      const end = cleaned.flush();
      const entries = [last, rest, end].flatMap((p) => p.logprobs ?? []);
      return out({ text: last.text + rest.text + end.text, logprobs: entries.length ? entries : undefined });
    },
  };
}

/**
 * The streamed pieces through the repetition cleanup as the final text gets it (parse.ts). Text
 * goes out whole pieces at a time, with their logprobs, once the cleanup has decided all of a
 * piece's characters (shown, or dropped as a loop's copies: those pieces go out with their
 * logprobs and no text). The final text is stripped before the cleanup, so whitespace at the end
 * is held until more text follows it.
 */
class CleanedText {
  private readonly scanner = new RepetitionScanner();
  private blank = '';
  private raw = 0;
  /** Pieces not yet out: where each ends in the raw characters, and its logprobs. */
  private readonly pending: { end: number; logprobs?: TokenLogprob[] }[] = [];
  /** Cleaned characters the scanner showed whose pieces are not yet out. */
  private readonly shown: Shown[] = [];

  push(piece: EchoPiece): EchoPiece {
    for (const _ of piece.text) this.raw++;
    this.pending.push({ end: this.raw, logprobs: piece.logprobs });
    const all = this.blank + piece.text;
    const kept = pyStripEnd(all);
    this.blank = all.slice(kept.length);
    this.shown.push(...this.scanner.push(kept));
    return this.release(this.scanner.decided);
  }

  flush(): EchoPiece {
    this.shown.push(...this.scanner.flush());
    return this.release(Infinity);
  }

  private release(decided: number): EchoPiece {
    let pieces = 0;
    while (pieces < this.pending.length && this.pending[pieces].end <= decided) pieces++;
    const out = this.pending.splice(0, pieces);
    const boundary = decided === Infinity ? Infinity : (out.at(-1)?.end ?? 0);
    let chars = 0;
    while (chars < this.shown.length && this.shown[chars].rawEnd <= boundary) chars++;
    const logprobs = out.flatMap((p) => p.logprobs ?? []);
    return { text: this.shown.splice(0, chars).map((c) => c.ch).join(''), logprobs: logprobs.length ? logprobs : undefined };
  }
}
