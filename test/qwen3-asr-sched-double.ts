// A deterministic DecoderRunner for scheduler tests: each slot's next token is
// `next(prompt, generatedCount)`, a function of that slot's own tokens only, so
// batching must not change any output. It records every call, checks that
// the scheduler feeds back what it sampled, and refuses a release mid-run.
import type { ItemContext, Payload } from '../src/runtime/contracts.js';
import type { DecoderRunner } from '../stages/common/engine/runner.js';

export type Call = { kind: 'prefill'; slot: number; n: number; audioRows: number } | { kind: 'decode'; slots: number[] } | { kind: 'release'; slot: number };

export interface ScriptedRunnerOptions {
  maxSlots: number;
  maxContext: number;
  vocabSize: number;
  audioTokenId: number;
  /** Floats per audio row. */
  audioRowSize: number;
  next: (prompt: number[], generated: number) => number;
}

export class ScriptedRunner implements DecoderRunner {
  readonly maxSlots: number;
  readonly maxContext: number;
  readonly vocabSize: number;
  readonly calls: Call[] = [];
  private readonly history = new Map<number, { prompt: number[]; generated: number }>();
  private readonly busy = new Set<number>();
  /** Makes the first decode call whose slots match throw. */
  failDecodeWhen?: (slots: number[]) => boolean;
  /** Makes prefill calls on matching slots throw. */
  failPrefillWhen?: (slot: number) => boolean;

  constructor(private readonly opts: ScriptedRunnerOptions) {
    ({ maxSlots: this.maxSlots, maxContext: this.maxContext, vocabSize: this.vocabSize } = opts);
  }

  async prefill(slot: number, ids: Int32Array, audio?: Float32Array): Promise<Float32Array> {
    const pads = ids.filter((id) => id === this.opts.audioTokenId).length;
    if ((audio?.length ?? 0) !== pads * this.opts.audioRowSize) throw new Error(`slot ${slot}: ${pads} pads but ${audio?.length ?? 0} audio floats`);
    this.calls.push({ kind: 'prefill', slot, n: ids.length, audioRows: pads });
    if (this.failPrefillWhen?.(slot)) throw new Error('out of memory');
    const h = this.history.get(slot) ?? { prompt: [], generated: 0 };
    h.prompt.push(...ids);
    this.history.set(slot, h);
    await this.step([slot]);
    return this.logitsFor([slot]);
  }

  async decode(slots: number[], tokens: Int32Array): Promise<Float32Array> {
    this.calls.push({ kind: 'decode', slots: [...slots] });
    if (this.failDecodeWhen?.(slots)) {
      this.failDecodeWhen = undefined;
      throw new Error('device lost');
    }
    slots.forEach((slot, i) => {
      const h = this.history.get(slot)!;
      const sampled = this.opts.next(h.prompt, h.generated);
      if (tokens[i] !== sampled) throw new Error(`slot ${slot} fed ${tokens[i]}, sampled ${sampled}`);
      h.generated++;
    });
    await this.step(slots);
    return this.logitsFor(slots);
  }

  length(slot: number): number {
    const h = this.history.get(slot);
    return h ? h.prompt.length + h.generated : 0;
  }

  release(slot: number): void {
    if (this.busy.has(slot)) throw new Error(`slot ${slot} released during a run`);
    this.calls.push({ kind: 'release', slot });
    this.history.delete(slot);
  }

  async dispose(): Promise<void> {}

  private async step(slots: number[]): Promise<void> {
    for (const s of slots) this.busy.add(s);
    await new Promise((resolve) => setImmediate(resolve));
    for (const s of slots) this.busy.delete(s);
  }

  /** Logit 20 on the scripted token, 0 elsewhere: near-certain, as a trained model would be. */
  private logitsFor(slots: number[]): Float32Array {
    const out = new Float32Array(slots.length * this.vocabSize);
    slots.forEach((slot, i) => {
      const h = this.history.get(slot)!;
      out[i * this.vocabSize + this.opts.next(h.prompt, h.generated)] = 20;
    });
    return out;
  }
}

/** The item context a scheduler test hands to a decode: records every event, cancels on demand. */
export class TestContext implements ItemContext {
  readonly events: Payload[] = [];
  cancelled = false;
  private callbacks: (() => void)[] = [];
  constructor(
    private readonly onEmit?: (ctx: TestContext) => void,
    readonly id = 'req',
  ) {}
  emit(event: Payload) {
    this.events.push(event);
    this.onEmit?.(this);
  }
  onCancel(cb: () => void) {
    this.callbacks.push(cb);
  }
  cancel() {
    this.cancelled = true;
    this.callbacks.forEach((cb) => cb());
  }
  get deltas() {
    return this.events.map((e) => e.delta);
  }
}
