// Our side of a timing comparison, by phase, on the real-shape random
// checkpoint: one round encodes the clip, prefills the transcription-shaped
// prompt, then greedily decodes `newTokens` tokens at batch 1 (total = all three
// end to end), then times decode steps at batch 8 with 8 prefilled slots. Every
// phase is timed under the quiet meter (bench/quiet.ts); a round in which any
// phase was disturbed is retaken up to `retries` times. Used by bench/model.ts
// (precisions side by side) and bench/peer-transformers.ts (against the official
// transformers model).
import fs from 'node:fs';
import path from 'node:path';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { audioTokenCount } from '../stages/qwen3-asr/graph/dims.js';
import type { ModelSpec } from '../stages/qwen3-asr/graph/model-spec.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { DecoderRunner } from '../stages/common/engine/runner.js';
import type { EncoderRunner, MelInput } from '../stages/qwen3-asr/runner/types.js';
import type { Variant } from './args.js';
import { Series, quietTag, type QuietMeter, type QuietReading } from './quiet.js';

export const BATCH = 8;
export const PHASES = ['encoder ms', 'prefill ms', 'step ms b=1', 'total ms', 'step ms b=8'] as const;
export type Phase = (typeof PHASES)[number];
/** Each phase's figure in one round, with the quiet reading taken while it ran. */
export type RoundResult = [Phase, number, QuietReading][];

/** Writes a random checkpoint of `size` into `dir` unless one is there; logs progress by tenths. */
export async function ensureRandomCheckpoint(size: CheckpointSize, dir: string, log: (m: string) => void): Promise<void> {
  if (fs.existsSync(path.join(dir, 'config.json'))) return;
  log(`writing a random ${size} checkpoint to ${dir}`);
  let lastTenth = -1;
  await makeCheckpoint({
    size, out: dir, seed: 1,
    onProgress: (done, total) => { const p = Math.floor((done / total) * 10); if (p > lastTenth) { lastTenth = p; log(`  checkpoint ${p * 10}%`); } },
  });
}

/** The clip and prompt of one transcription request: `audioS` seconds of mel, 9 prefix ids, the audio pads, 6 suffix ids. */
export function requestShape(spec: ModelSpec, audioS: number): { clip: MelInput; prompt: Int32Array; audioTokens: number } {
  const frames = Math.round(audioS * 100);
  const audioTokens = audioTokenCount(spec.encoder, frames);
  const clip = { frames, mel: seededValues(spec.encoder.numMelBins * frames, 5) };
  const A = spec.decoder.audioTokenId;
  return { clip, audioTokens, prompt: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, ...new Array(audioTokens).fill(A), 10, 11, 12, 13, 14, 15]) };
}

function argmax(x: Float32Array, from: number, len: number): number {
  let best = from;
  for (let i = from + 1; i < from + len; i++) if (x[i] > x[best]) best = i;
  return best - from;
}

export interface OursOptions { modelPath: string; cacheDir: string; variant: Variant; threads: number; newTokens: number; maxContext: number }

/** One contender's figures: a Series per phase. */
export class PhaseRecorder {
  readonly series = new Map<Phase, Series>();

  constructor(readonly label: string) {
    for (const p of PHASES) this.series.set(p, new Series(`${label} ${p}`));
  }

  record(r: RoundResult): void {
    for (const [p, v, q] of r) this.series.get(p)!.add(v, q);
  }

  get(p: Phase): Series {
    return this.series.get(p)!;
  }
}

export class OursUnderTest extends PhaseRecorder {
  private constructor(label: string, private readonly enc: EncoderRunner, private readonly dec: DecoderRunner, private readonly newTokens: number) {
    super(label);
  }

  static async open(label: string, o: OursOptions): Promise<OursUnderTest> {
    const { precision, kernels } = o.variant;
    const opts = { modelPath: o.modelPath, cacheDir: o.cacheDir, precision, device: 'cpu', threads: o.threads };
    const enc = await createEncoderRunner({ ...opts, quantKernel: kernels.encoder });
    const dec = await createDecoderRunner({ ...opts, quantKernel: kernels.decode, prefillQuantKernel: kernels.prefill, spin: o.variant.spin, kvCache: o.variant.kvCache, kvInPlace: o.variant.kvInPlace, maxSlots: BATCH, maxContext: o.maxContext });
    return new OursUnderTest(label, enc, dec, o.newTokens);
  }

  /** One round of every phase: each phase's figure and how quiet the machine was meanwhile. */
  async round(meter: QuietMeter, clip: MelInput, prompt: Int32Array): Promise<RoundResult> {
    const V = this.dec.vocabSize;
    for (let s = 0; s < BATCH; s++) this.dec.release(s);
    let audio: Float32Array = new Float32Array(0);
    let stepMs = 0;
    const phases: RoundResult = [];
    const total = await meter.measure(async () => {
      const e = await meter.measure(() => this.enc.encode([clip]));
      audio = e.value[0];
      phases.push(['encoder ms', e.quiet.wallMs, e.quiet]);
      const p = await meter.measure(() => this.dec.prefill(0, prompt, audio));
      phases.push(['prefill ms', p.quiet.wallMs, p.quiet]);
      let next = argmax(p.value, 0, V);
      const s = await meter.measure(async () => {
        for (let i = 1; i < this.newTokens; i++) next = argmax(await this.dec.decode([0], Int32Array.of(next)), 0, V);
      });
      stepMs = s.quiet.wallMs / Math.max(1, this.newTokens - 1);
      phases.push(['step ms b=1', stepMs, s.quiet]);
    });
    phases.push(['total ms', total.quiet.wallMs, total.quiet]);
    this.dec.release(0);
    const slots = Array.from({ length: BATCH }, (_, i) => i);
    for (const s of slots) await this.dec.prefill(s, prompt, audio);
    const steps = Math.max(4, Math.floor(this.newTokens / 4));
    const b8 = await meter.measure(async () => { for (let i = 0; i < steps; i++) await this.dec.decode(slots, new Int32Array(BATCH).fill(100 + i)); });
    phases.push(['step ms b=8', b8.quiet.wallMs / steps, b8.quiet]);
    return phases;
  }

  async close(): Promise<void> {
    await Promise.all([this.enc.dispose(), this.dec.dispose()]);
  }
}

/**
 * Runs `round` and retakes it while any phase was disturbed, at most `retries` times (a retake
 * depends only on what other processes did, never on the figures); records the last try, which
 * stays marked disturbed in its Series when no try was quiet. Logs the worst reading of each try.
 */
export async function quietRound(label: string, retries: number, log: (m: string) => void,
  round: () => Promise<RoundResult>, record: (r: RoundResult) => void): Promise<void> {
  for (let i = 0; ; i++) {
    const r = await round();
    const worst = r.map(([, , q]) => q).reduce((a, q) => (q.otherCores > a.otherCores ? q : a));
    const disturbed = r.some(([, , q]) => q.disturbed);
    log(`  ${label}: ${quietTag(worst)}${disturbed && i < retries ? ' - retaking' : ''}`);
    if (!disturbed || i >= retries) { record(r); return; }
  }
}
