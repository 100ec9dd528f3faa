// One sequence the decoder generates: a prompt (with the embeddings that
// replace its placeholder tokens, e.g. a speech model's audio_pad), its sampler
// and its progress. The scheduler moves it waiting → prefill → decode → done.
import type { LoopFound, LoopGuard } from './loop-guard.js';
import { logSoftmaxAt, type SampledToken, type Sampler } from './sampler.js';

export interface SequenceSpec {
  /** Full prompt ids, placeholder tokens included. */
  promptIds: Int32Array;
  /** [placeholder count, hidden] rows replacing the placeholders' embeddings in order. */
  embeds?: Float32Array;
  /** Generated tokens at most (EOS not counted). */
  maxNewTokens: number;
  temperature: number;
  seed: number;
  /** Compute each sampled token's log-probability (default true); otherwise logprobs holds NaN. */
  logprobs?: boolean;
  /** Penalty on the logits of tokens this sequence already generated (sampler.ts); 1 or absent = off. */
  repetitionPenalty?: number;
  /** Called with each generated token id (EOS excluded) and its logprob (NaN when not computed) as soon as it is
   *  sampled, or, while the loop guard may still drop it as a loop's copy, once it cannot (never for a dropped one). */
  onToken?: (id: number, logprob: number) => void;
  /**
   * Keep this prompt's KV rows when it finishes (prefix-cache.ts), for a later prompt that starts the
   * same: a streaming re-decode sets it. Copying them out costs ~65 ms for a 30 s prompt at the 0.6B
   * shape, so a one-off request does not; any request may still start from kept rows.
   */
  keepPrefix?: boolean;
  /** Records the model's log-probability of `tokenId` as generated token number `index`. */
  probe?: { index: number; tokenId: number };
}

/** 'loop': the loop guard ended it (loop-guard.ts); one copy of the repeated unit stays. */
export type FinishReason = 'stop' | 'length' | 'loop';

export interface SequenceOutput {
  /** Generated ids, EOS excluded. */
  tokens: number[];
  /** Log-probability of every sampled token, EOS included when it was sampled. */
  logprobs: number[];
  finishReason: FinishReason;
  /** log P(probe.tokenId) at probe.index, when the sequence got that far. */
  probeLogprob?: number;
  /** The loop that ended it (finishReason 'loop'): its unit's length and the copies dropped. */
  loop?: LoopFound;
}

export interface PrefillChunk { ids: Int32Array; embeds?: Float32Array }

export type SequenceState = 'waiting' | 'prefill' | 'decode' | 'done';

export class Sequence {
  state: SequenceState = 'waiting';
  slot = -1;
  /** Prompt tokens already in the slot's KV cache. */
  prefilled = 0;
  /** Embedding rows already spliced in by earlier prefill chunks. */
  private embedRowsFed = 0;
  readonly tokens: number[] = [];
  readonly logprobs: number[] = [];
  probeLogprob?: number;
  /** Set by cancel(): the scheduler drops it at its next safe point. */
  cancelled = false;
  loop?: LoopFound;
  /** Tokens passed to spec.onToken so far. */
  private streamed = 0;

  constructor(
    readonly spec: SequenceSpec,
    private readonly sampler: Sampler,
    private readonly embedTokenId: number,
    private readonly embedRowSize: number,
    readonly settle: { resolve(out: SequenceOutput): void; reject(err: Error): void },
    private readonly loopGuard?: LoopGuard,
  ) {}

  get promptLength(): number {
    return this.spec.promptIds.length;
  }

  get lastToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  /** The next prefill chunk (at most `budget` tokens) and the embedding rows its placeholder ids take. */
  nextChunk(budget: number): PrefillChunk {
    const ids = this.spec.promptIds.slice(this.prefilled, Math.min(this.promptLength, this.prefilled + budget));
    let pads = 0;
    for (const id of ids) if (id === this.embedTokenId) pads++;
    if (pads === 0 || !this.spec.embeds) return { ids };
    const from = this.embedRowsFed * this.embedRowSize;
    return { ids, embeds: this.spec.embeds.slice(from, from + pads * this.embedRowSize) };
  }

  /** Records that the first `length` prompt positions are in the KV cache already (prefix reuse). */
  skipPrefill(length: number): void {
    this.prefilled = length;
    this.embedRowsFed = this.placeholdersIn(length);
  }

  /** Placeholder ids among the first `length` prompt ids (the embedding rows they take). */
  placeholdersIn(length: number): number {
    let pads = 0;
    for (let i = 0; i < length; i++) if (this.spec.promptIds[i] === this.embedTokenId) pads++;
    return pads;
  }

  /** Floats per embedding row. */
  get rowSize(): number {
    return this.embedRowSize;
  }

  /** Records that `chunk` is now in the KV cache. */
  advancePrefill(chunk: PrefillChunk): void {
    this.prefilled += chunk.ids.length;
    if (chunk.embeds) this.embedRowsFed += chunk.embeds.length / this.embedRowSize;
  }

  /** Samples from `logits`; returns why the sequence ended, or undefined while it goes on. */
  accept(logits: Float32Array, eosIds: ReadonlySet<number>): FinishReason | undefined {
    if (this.spec.probe?.index === this.tokens.length) this.probeLogprob = logSoftmaxAt(logits, this.spec.probe.tokenId);
    const next: SampledToken = this.sampler.sample(logits, this.tokens, this.spec.repetitionPenalty);
    this.logprobs.push(next.logprob);
    if (eosIds.has(next.id)) return this.streamUpTo(this.tokens.length, 'stop');
    this.tokens.push(next.id);
    if (this.endsInLoop()) return this.streamUpTo(this.tokens.length, 'loop');
    if (this.tokens.length >= this.spec.maxNewTokens) return this.streamUpTo(this.tokens.length, 'length');
    return this.streamUpTo(this.tokens.length - (this.loopGuard?.pending ?? 0), undefined);
  }

  /** Streams the tokens before `end` not yet streamed; passes `reason` through. */
  private streamUpTo<R extends FinishReason | undefined>(end: number, reason: R): R {
    for (; this.streamed < end; this.streamed++) this.spec.onToken?.(this.tokens[this.streamed], this.logprobs[this.streamed]);
    return reason;
  }

  /** True when the newest tokens are a loop; its extra copies (never streamed) leave tokens and logprobs. */
  private endsInLoop(): boolean {
    const loop = this.loopGuard?.push(this.tokens);
    if (!loop) return false;
    this.loop = loop;
    this.tokens.length -= loop.extra;
    this.logprobs.length -= loop.extra;
    return true;
  }
}
