// `language` of a session.update is checked when the update arrives, not at the
// session's first turn: only the pipeline knows which languages its model takes
// (the handler knows no model), so the first update naming a value sends a probe
// through it — 0.25 s of silence, one token — and the answer is remembered for
// the server's life (the model does not change). An invalid_input naming
// `language` refuses the update; any other failure (overload, shutdown) lets it
// through unchecked, and the turn's own decode reports a problem as before.
import type { Pipeline } from '../../../runtime/contracts.js';
import { toApiError } from '../../errors.js';
import { floatWav } from './turn.js';

const PROBE_SAMPLES = 4000;
/** Distinct values remembered; the oldest is forgotten past it (bounded memory whatever clients send). */
const MAX_REMEMBERED = 256;

/** null: the model takes it; otherwise why not. */
export type LanguageVerdict = { message: string } | null;

export class LanguageCheck {
  private readonly known = new Map<string, LanguageVerdict>();
  private readonly pending = new Map<string, Promise<LanguageVerdict>>();

  constructor(private readonly pipeline: Pipeline) {}

  /** The remembered verdict, or undefined when the value was never probed. */
  cached(language: string): LanguageVerdict | undefined {
    return this.known.get(language);
  }

  /** The verdict on `language` (probing once, however many sessions ask at once). */
  check(language: string): Promise<LanguageVerdict> {
    const known = this.known.get(language);
    if (known !== undefined) return Promise.resolve(known);
    let probe = this.pending.get(language);
    if (!probe) {
      probe = this.probe(language).finally(() => this.pending.delete(language));
      this.pending.set(language, probe);
    }
    return probe;
  }

  private async probe(language: string): Promise<LanguageVerdict> {
    const payload = { audio: floatWav(new Float32Array(PROBE_SAMPLES)), filename: 'language-probe.wav', contentType: 'audio/wav', params: { language, temperature: 0, max_new_tokens: 1 } };
    try {
      await this.pipeline.submit(payload); // not the session's signal: other sessions may wait on it
      this.remember(language, null);
      return null;
    } catch (err) {
      const apiError = toApiError(err, 'language-probe');
      if (apiError.status !== 400 || apiError.param !== 'language') return null; // not known either way: not remembered
      const verdict = { message: apiError.message };
      this.remember(language, verdict);
      return verdict;
    }
  }

  private remember(language: string, verdict: LanguageVerdict): void {
    if (this.known.size >= MAX_REMEMBERED) this.known.delete(this.known.keys().next().value!);
    this.known.set(language, verdict);
  }
}
