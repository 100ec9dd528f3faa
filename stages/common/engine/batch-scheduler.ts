// Continuous batching over a DecoderRunner's KV slots, for any decoder-only
// model: the model comes in through its runner (step functions), its stop ids
// and the prompts it builds; nothing here knows what a token means. One loop per worker:
// each turn admits waiting sequences into free slots, spends at most
// `prefillChunkTokens` of prompt on prefill (so a long prompt is fed over
// several turns and never stalls running sequences for long), then advances
// every decoding sequence by one token in a single runner.decode call.
// A sequence that finishes leaves at once and its slot goes to the next one.
// With a prefix cache, a finished prompt's KV rows are kept (prefix-cache.ts)
// and a new prompt that starts the same begins from them instead of prefilling.
import { StageError } from '../../../src/runtime/contracts.js';
import type { DecoderRunner } from './runner.js';
import { cancelled, ERR_CONTEXT_OVERFLOW, ERR_DECODER_FAILED, runnerFailed } from './errors.js';
import { KvSlotPool } from './kv-slot-pool.js';
import { PrefixCache } from './prefix-cache.js';
import { checkLoopGuardOptions, LoopGuard, type LoopGuardOptions } from './loop-guard.js';
import { Sampler } from './sampler.js';
import { Sequence, type FinishReason, type SequenceOutput, type SequenceSpec } from './sequence.js';

export interface BatchSchedulerOptions {
  /** Token ids that end a sequence (not part of its output). */
  eosIds: readonly number[];
  /** Prompt id whose embeddings a sequence's `embeds` rows replace (audio_pad, image_pad…). */
  embedTokenId: number;
  /** Prompt tokens prefilled per scheduler turn, across sequences. */
  prefillChunkTokens: number;
  /** Ends sequences that loop (loop-guard.ts); absent or maxPeriod 0 = off. */
  loopGuard?: LoopGuardOptions;
  /** Bytes of finished prompts' KV rows kept for reuse (prefix-cache.ts); absent or 0 = off, as with a runner without saveKv. */
  prefixCacheBytes?: number;
}

export interface SequenceHandle {
  /** Resolves with the generated tokens; rejects with a StageError (cancelled, runner failure). */
  result: Promise<SequenceOutput>;
  /** Drops the sequence: waiting ones never start, running ones free their slot after the current step. */
  cancel(): void;
}

/** Where the scheduler's time goes, cumulative since start (milliseconds are wall time of the loop's thread). */
export interface SchedulerStats {
  waiting: number;
  running: number;
  /** Tokens generated since start (EOS included): one per decode row plus one per finished prefill. */
  generatedTokens: number;
  decodeSteps: number;
  /** Sequences advanced by decode steps, summed over steps (÷ decodeSteps = mean batch size). */
  decodeRows: number;
  /** Time inside runner.decode. */
  decodeMs: number;
  prefillTokens: number;
  prefillCalls: number;
  /** Time inside runner.prefill. */
  prefillMs: number;
  /** Time picking tokens from logits (sampling, logprobs). */
  sampleMs: number;
  /** Time the loop ran with work to do. */
  busyMs: number;
  /** Sequences the loop guard ended. */
  loopStops: number;
  /** Sequences that started from a kept prefix, and the prompt tokens they did not prefill. */
  prefixHits: number;
  prefixReusedTokens: number;
  /** Bytes the prefix cache holds now. */
  prefixCacheBytes: number;
}

export class BatchScheduler {
  private readonly slots: KvSlotPool;
  private readonly eosIds: ReadonlySet<number>;
  private readonly waiting: Sequence[] = [];
  /** Sequences holding a slot, in admission order (prefill goes first-come first-served). */
  private readonly active: Sequence[] = [];
  private loop?: Promise<void>;
  /** True from wake() until run() sees no work; cleared synchronously, so a submit never finds a loop that is ending. */
  private looping = false;
  private readonly counters = { generatedTokens: 0, decodeSteps: 0, decodeRows: 0, decodeMs: 0, prefillTokens: 0, prefillCalls: 0, prefillMs: 0, sampleMs: 0, busyMs: 0, loopStops: 0, prefixHits: 0, prefixReusedTokens: 0 };
  private readonly prefixes?: PrefixCache;
  /** KV bytes per position, from the first saved prompt: a prompt too large to keep is then not copied at all. */
  private kvBytesPerToken = 0;

  constructor(private readonly runner: DecoderRunner, private readonly opts: BatchSchedulerOptions) {
    if (!(opts.prefillChunkTokens >= 1)) throw new RangeError(`prefillChunkTokens must be ≥ 1, got ${opts.prefillChunkTokens}`);
    this.slots = new KvSlotPool(runner.maxSlots);
    this.eosIds = new Set(opts.eosIds);
    if (opts.loopGuard) checkLoopGuardOptions(opts.loopGuard);
    if (opts.prefixCacheBytes && runner.saveKv && runner.loadKv) this.prefixes = new PrefixCache(opts.prefixCacheBytes, opts.embedTokenId);
  }

  get maxContext(): number {
    return this.runner.maxContext;
  }

  stats(): SchedulerStats {
    return { waiting: this.waiting.length, running: this.active.length, ...this.counters, prefixCacheBytes: this.prefixes?.byteLength ?? 0 };
  }

  /** Queues a sequence. Throws an invalid_input StageError when prompt + maxNewTokens exceeds the context. */
  submit(spec: SequenceSpec): SequenceHandle {
    const total = spec.promptIds.length + spec.maxNewTokens;
    if (total > this.runner.maxContext) {
      throw new StageError(ERR_CONTEXT_OVERFLOW, `prompt of ${spec.promptIds.length} tokens plus max_new_tokens ${spec.maxNewTokens} exceeds the decoder context of ${this.runner.maxContext} tokens`, 'invalid_input', 'max_new_tokens');
    }
    if (!(spec.maxNewTokens >= 1)) throw new RangeError(`maxNewTokens must be ≥ 1, got ${spec.maxNewTokens}`);
    const rowSize = embedRowSize(spec, this.opts.embedTokenId);
    let settle!: Sequence['settle'];
    const result = new Promise<SequenceOutput>((resolve, reject) => (settle = { resolve, reject }));
    const guard = this.opts.loopGuard?.maxPeriod ? new LoopGuard(this.opts.loopGuard) : undefined;
    const seq = new Sequence(spec, new Sampler(spec.temperature, spec.seed, spec.logprobs ?? true), this.opts.embedTokenId, rowSize, settle, guard);
    this.waiting.push(seq);
    this.wake();
    return { result, cancel: () => this.cancel(seq) };
  }

  /** Cancels everything and waits for the loop to stop (the runner is then idle). */
  async close(): Promise<void> {
    for (const seq of [...this.waiting, ...this.active]) this.cancel(seq);
    await this.loop;
  }

  private cancel(seq: Sequence): void {
    if (seq.state === 'done' || seq.cancelled) return;
    seq.cancelled = true;
    if (seq.state === 'waiting') {
      this.waiting.splice(this.waiting.indexOf(seq), 1);
      seq.state = 'done';
    }
    // A sequence with a slot may be inside the runner call under way: its slot is freed by the loop right after.
    seq.settle.reject(cancelled());
  }

  private wake(): void {
    if (this.looping) return;
    this.looping = true;
    // Started from a microtask so sequences submitted in the same tick share the first turn.
    this.loop = Promise.resolve().then(() => this.run());
  }

  private async run(): Promise<void> {
    const started = performance.now();
    try {
      while (this.waiting.length > 0 || this.active.length > 0) {
        this.dropCancelled();
        this.admit();
        await this.prefillTurn();
        await this.decodeTurn();
      }
    } finally {
      this.counters.busyMs += performance.now() - started;
      this.looping = false;
    }
  }

  private admit(): void {
    while (this.waiting.length > 0 && this.slots.available > 0) {
      const seq = this.waiting.shift()!;
      seq.slot = this.slots.acquire()!;
      seq.state = 'prefill';
      this.active.push(seq);
      this.reusePrefix(seq);
    }
  }

  /** Starts `seq` from the kept prompt sharing most of its prefix; one position is always left to prefill (its logits). */
  private reusePrefix(seq: Sequence): void {
    const found = this.prefixes?.match(seq.spec.promptIds, seq.spec.embeds, seq.rowSize, seq.promptLength - 1);
    if (!found) return;
    this.runner.loadKv!(seq.slot, found.entry.kv, found.length);
    seq.skipPrefill(found.length);
    this.counters.prefixHits++;
    this.counters.prefixReusedTokens += found.length;
  }

  /** Keeps a finished prompt's KV rows when it asked (only the prompt's: generated tokens are not part of a later prompt's start). */
  private keepPrefix(seq: Sequence): void {
    if (!this.prefixes || !seq.spec.keepPrefix || seq.prefilled !== seq.promptLength) return;
    if (this.kvBytesPerToken * seq.promptLength > this.prefixes.maxBytes) return;
    const ids = seq.spec.promptIds.slice();
    const rows = seq.placeholdersIn(ids.length);
    const embeds = rows > 0 ? seq.spec.embeds?.slice(0, rows * seq.rowSize) : undefined;
    const kv = this.runner.saveKv!(seq.slot, ids.length);
    this.kvBytesPerToken = kv.byteLength / ids.length;
    this.prefixes.add({ ids, embeds, kv });
  }

  private async prefillTurn(): Promise<void> {
    let budget = this.opts.prefillChunkTokens;
    for (const seq of this.active.filter((s) => s.state === 'prefill')) {
      if (budget <= 0) break;
      if (seq.cancelled) continue;
      const chunk = seq.nextChunk(budget);
      let logits: Float32Array;
      const started = performance.now();
      try {
        logits = await this.runner.prefill(seq.slot, chunk.ids, chunk.embeds);
      } catch (err) {
        this.fail(seq, runnerFailed(ERR_DECODER_FAILED, err));
        continue;
      } finally {
        this.counters.prefillMs += performance.now() - started;
      }
      this.counters.prefillCalls++;
      this.counters.prefillTokens += chunk.ids.length;
      budget -= chunk.ids.length;
      seq.advancePrefill(chunk);
      if (seq.prefilled < seq.promptLength || seq.cancelled) continue;
      seq.state = 'decode';
      this.accept(seq, logits);
    }
  }

  private async decodeTurn(): Promise<void> {
    const batch = this.active.filter((s) => s.state === 'decode' && !s.cancelled);
    if (batch.length === 0) return;
    let logits: Float32Array;
    const started = performance.now();
    try {
      logits = await this.runner.decode(
        batch.map((s) => s.slot),
        Int32Array.from(batch, (s) => s.lastToken),
      );
    } catch (err) {
      const error = runnerFailed(ERR_DECODER_FAILED, err);
      for (const seq of batch) this.fail(seq, error);
      return;
    } finally {
      this.counters.decodeMs += performance.now() - started;
    }
    this.counters.decodeSteps++;
    this.counters.decodeRows += batch.length;
    const vocab = this.runner.vocabSize;
    batch.forEach((seq, i) => {
      if (!seq.cancelled) this.accept(seq, logits.subarray(i * vocab, (i + 1) * vocab));
    });
  }

  private accept(seq: Sequence, logits: Float32Array): void {
    this.counters.generatedTokens++;
    const started = performance.now();
    const finish = seq.accept(logits, this.eosIds);
    this.counters.sampleMs += performance.now() - started;
    if (finish) this.finish(seq, finish);
  }

  private finish(seq: Sequence, reason: FinishReason): void {
    this.keepPrefix(seq);
    this.leave(seq);
    if (reason === 'loop') this.counters.loopStops++;
    seq.settle.resolve({ tokens: seq.tokens, logprobs: seq.logprobs, finishReason: reason, probeLogprob: seq.probeLogprob, loop: seq.loop });
  }

  private fail(seq: Sequence, error: StageError): void {
    this.leave(seq);
    seq.settle.reject(error);
  }

  private dropCancelled(): void {
    for (const seq of this.active.filter((s) => s.cancelled)) this.leave(seq);
  }

  /** Frees the slot of an active sequence (only between runner calls). */
  private leave(seq: Sequence): void {
    this.active.splice(this.active.indexOf(seq), 1);
    this.runner.release(seq.slot);
    this.slots.release(seq.slot);
    seq.state = 'done';
  }
}

/** Floats per embedding row: `embeds` must hold one equal row per placeholder id in the prompt. */
function embedRowSize(spec: SequenceSpec, embedTokenId: number): number {
  if (!spec.embeds) return 0;
  let pads = 0;
  for (const id of spec.promptIds) if (id === embedTokenId) pads++;
  if (pads === 0 || spec.embeds.length % pads !== 0) {
    throw new StageError(ERR_DECODER_FAILED, `embeddings of ${spec.embeds.length} floats do not split into ${pads} placeholder rows`, 'internal');
  }
  return spec.embeds.length / pads;
}
