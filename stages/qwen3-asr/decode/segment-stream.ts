// The streamed text of one Qwen3-ASR segment, token by token: ids become text
// (StreamingDetokenizer), the `language X<asr_text>` header is held back
// (language-header.ts), an echo of the prompt's term list is dropped
// (prompt-echo.ts), and with include[]=logprobs each piece carries the
// log-probabilities of the tokens it shows (token-logprobs.ts).
import type { StreamPiece, TextStream } from '../../common/engine/segments.js';
import type { AsrTextCodec } from '../text/index.js';
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
  const out = (piece: EchoPiece): StreamPiece => (logprobs ? piece : piece.text);
  return {
    push(id, logprob) {
      const text = header.push(detokenizer.push(id));
      return out(echo.push({ text, logprobs: logprobs?.push(id, logprob, text) }));
    },
    flush() {
      const text = header.push(detokenizer.flush()) + header.flush();
      const last = echo.push({ text, logprobs: logprobs?.flush() });
      const rest = echo.flush();
      const entries = [...(last.logprobs ?? []), ...(rest.logprobs ?? [])];
      return out({ text: last.text + rest.text, logprobs: entries.length ? entries : undefined });
    },
  };
}
