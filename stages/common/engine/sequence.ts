// One sequence the decoder generates: a prompt (with the audio embeddings that
// replace its audio_pad tokens), its sampler and its progress. The scheduler
// moves it waiting → prefill → decode → done.
import { logSoftmaxAt, type SampledToken, type Sampler } from './sampler.js';

export interface SequenceSpec {
  /** Full prompt ids, audio_pad tokens included. */
  promptIds: Int32Array;
  /** [audio_pad count, hidden] rows replacing the audio_pad embeddings in order. */
  audio?: Float32Array;
  /** Generated tokens at most (EOS not counted). */
  maxNewTokens: number;
  temperature: number;
  seed: number;
  /** Compute each sampled token's log-probability (default true); otherwise logprobs holds NaN. */
  logprobs?: boolean;
  /** Called with each generated token id (EOS excluded) as soon as it is sampled. */
  onToken?: (id: number) => void;
  /** Records the model's log-probability of `tokenId` as generated token number `index`. */
  probe?: { index: number; tokenId: number };
}

export type FinishReason = 'stop' | 'length';

export interface SequenceOutput {
  /** Generated ids, EOS excluded. */
  tokens: number[];
  /** Log-probability of every sampled token, EOS included when it was sampled. */
  logprobs: number[];
  finishReason: FinishReason;
  /** log P(probe.tokenId) at probe.index, when the sequence got that far. */
  probeLogprob?: number;
}

export type SequenceState = 'waiting' | 'prefill' | 'decode' | 'done';

export class Sequence {
  state: SequenceState = 'waiting';
  slot = -1;
  /** Prompt tokens already in the slot's KV cache. */
  prefilled = 0;
  /** Audio rows already spliced in by earlier prefill chunks. */
  private audioRowsFed = 0;
  readonly tokens: number[] = [];
  readonly logprobs: number[] = [];
  probeLogprob?: number;
  /** Set by cancel(): the scheduler drops it at its next safe point. */
  cancelled = false;

  constructor(
    readonly spec: SequenceSpec,
    private readonly sampler: Sampler,
    private readonly audioTokenId: number,
    private readonly audioRowSize: number,
    readonly settle: { resolve(out: SequenceOutput): void; reject(err: Error): void },
  ) {}

  get promptLength(): number {
    return this.spec.promptIds.length;
  }

  get lastToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  /** The next prefill chunk (at most `budget` tokens) and the audio rows its audio_pad ids take. */
  nextChunk(budget: number): { ids: Int32Array; audio?: Float32Array } {
    const ids = this.spec.promptIds.slice(this.prefilled, Math.min(this.promptLength, this.prefilled + budget));
    let pads = 0;
    for (const id of ids) if (id === this.audioTokenId) pads++;
    if (pads === 0 || !this.spec.audio) return { ids };
    const from = this.audioRowsFed * this.audioRowSize;
    return { ids, audio: this.spec.audio.slice(from, from + pads * this.audioRowSize) };
  }

  /** Records that `chunk` is now in the KV cache. */
  advancePrefill(chunk: { ids: Int32Array; audio?: Float32Array }): void {
    this.prefilled += chunk.ids.length;
    if (chunk.audio) this.audioRowsFed += chunk.audio.length / this.audioRowSize;
  }

  /** Samples from `logits`; returns why the sequence ended, or undefined while it goes on. */
  accept(logits: Float32Array, eosIds: ReadonlySet<number>): FinishReason | undefined {
    if (this.spec.probe?.index === this.tokens.length) this.probeLogprob = logSoftmaxAt(logits, this.spec.probe.tokenId);
    const next: SampledToken = this.sampler.sample(logits);
    this.logprobs.push(next.logprob);
    if (eosIds.has(next.id)) return 'stop';
    this.tokens.push(next.id);
    this.spec.onToken?.(next.id);
    return this.tokens.length >= this.spec.maxNewTokens ? 'length' : undefined;
  }
}
