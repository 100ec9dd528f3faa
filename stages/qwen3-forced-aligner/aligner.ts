// The forced aligner as one object: 16 kHz samples + words → word times.
// Log-mel as Qwen3-ASR's front end computes it (../audio/mel.ts, one clip
// each, as the official processor), prompts from text/prompt.ts, one encoder
// call and batched classifier runs (runner/), the official decode
// (decode/timestamps.ts). Used by the stage, the golden test and the bench.
import { whisperLogMel } from '../audio/mel.js';
import type { RunnerOptions } from '../common/engine/runner.js';
import { loadQwenTokenizer } from '../qwen3-asr/text/tokenizer.js';
import { argmaxRows, wordTimes, type WordTime } from './decode/timestamps.js';
import type { AlignerSpec } from './graph/model-spec.js';
import { createAlignerRunner } from './runner/index.js';
import type { OnnxAlignerRunner } from './runner/aligner-runner.js';
import { AlignerPromptBuilder } from './text/prompt.js';

/** qwen-asr's MAX_FORCE_ALIGN_INPUT_SECONDS: the official code aligns at most this much audio at once. */
export const OFFICIAL_MAX_SECONDS = 180;

export interface AlignRequest {
  /** 16 kHz mono. */
  samples: Float32Array;
  words: string[];
}

export interface AlignResult {
  /** Official times in seconds from the clip start (not clamped). */
  words: WordTime[];
  /** Slot logits [2·words, classes] (golden checks, bench). */
  logits: Float32Array;
  /** The prompt ids (golden checks). */
  ids: Int32Array;
}

export class Aligner {
  /** The longest clip one alignment takes: the official 180 s, or less when the classes span less time. */
  readonly maxSeconds: number;

  private constructor(private readonly runner: OnnxAlignerRunner, readonly spec: AlignerSpec, private readonly prompts: AlignerPromptBuilder) {
    this.maxSeconds = Math.min(OFFICIAL_MAX_SECONDS, (runner.classes * spec.config.segmentMs) / 1000);
  }

  static async create(opts: RunnerOptions & { maxRunTokens?: number }): Promise<Aligner> {
    const { runner, spec } = await createAlignerRunner(opts);
    try {
      return new Aligner(runner, spec, new AlignerPromptBuilder(loadQwenTokenizer(spec.dir), spec.config.timestampTokenId));
    } catch (err) {
      await runner.dispose();
      throw err;
    }
  }

  get classes(): number { return this.runner.classes; }
  get segmentMs(): number { return this.spec.config.segmentMs; }

  /** Aligns every request in one encoder call and as few classifier runs as the run budget allows. */
  async align(requests: AlignRequest[]): Promise<AlignResult[]> {
    if (requests.length === 0) return [];
    const bins = this.spec.encoder.numMelBins;
    const built: Int32Array[] = [];
    const outputs = await this.runner.align(requests.map((r, i) => {
      const { mel, frames } = whisperLogMel(r.samples, bins);
      return {
        mel, frames,
        prompt: (audioTokens: number) => {
          const p = this.prompts.build(r.words, audioTokens);
          built[i] = p.ids;
          return p;
        },
      };
    }));
    return outputs.map((o, i) => ({
      words: wordTimes(requests[i].words, argmaxRows(o.logits, this.classes), this.segmentMs),
      logits: o.logits,
      ids: built[i],
    }));
  }

  dispose(): Promise<void> {
    return this.runner.dispose();
  }
}
