// Picks the next token from one row of logits: argmax at temperature 0 (ties go
// to the lowest id, so greedy output never depends on scan order), otherwise a
// draw from softmax(logits / T) with the request's seeded generator. A
// repetition penalty other than 1 first scales the logits of tokens already
// generated (CTRL, Keskar et al. 2019, as transformers'
// RepetitionPenaltyLogitsProcessor and vLLM apply it: a positive logit is divided
// by the penalty, a negative one multiplied). The logprob returned is the
// model's own (temperature 1, no penalty) log-probability, which is what
// avg_logprob and include[]=logprobs report, as vLLM's default raw logprobs; it
// costs a pass over the vocabulary, so a sampler made without it returns NaN.
import { seededRandom } from './prng.js';

export interface SampledToken {
  id: number;
  logprob: number;
}

export class Sampler {
  private readonly random: () => number;

  constructor(readonly temperature: number, seed: number, private readonly withLogprob = true) {
    if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`temperature must be a finite number ≥ 0, got ${temperature}`);
    this.random = seededRandom(seed);
  }

  /** `generated`: the sequence's tokens so far, penalised by `repetitionPenalty` (1 = off). */
  sample(logits: Float32Array, generated: readonly number[] = [], repetitionPenalty = 1): SampledToken {
    if (!(repetitionPenalty > 0) || !Number.isFinite(repetitionPenalty)) throw new RangeError(`repetitionPenalty must be a finite number > 0, got ${repetitionPenalty}`);
    // The penalty is applied in place to the few logits it changes and undone before the logprob,
    // so a step costs O(distinct generated tokens) extra instead of a copy of the vocabulary row.
    const saved = repetitionPenalty === 1 ? undefined : applyRepetitionPenalty(logits, generated, repetitionPenalty);
    let picked: { id: number; max: number };
    try {
      picked = this.pick(logits);
    } finally {
      if (saved) for (const [id, value] of saved) logits[id] = value;
    }
    const max = saved ? maxOf(logits) : picked.max;
    return { id: picked.id, logprob: this.withLogprob ? logits[picked.id] - logSumExp(logits, max) : NaN };
  }

  private pick(logits: Float32Array): { id: number; max: number } {
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > max) {
        max = logits[i];
        argmax = i;
      }
    }
    return { id: this.temperature === 0 ? argmax : this.draw(logits, max), max };
  }

  private draw(logits: Float32Array, max: number): number {
    const invT = 1 / this.temperature;
    let total = 0;
    for (let i = 0; i < logits.length; i++) total += Math.exp((logits[i] - max) * invT);
    let target = this.random() * total;
    let lastWeighted = 0;
    for (let i = 0; i < logits.length; i++) {
      const weight = Math.exp((logits[i] - max) * invT);
      if (weight === 0) continue;
      lastWeighted = i;
      target -= weight;
      if (target < 0) return i;
    }
    return lastWeighted; // rounding left a sliver of mass past the end
  }
}

/**
 * Scales, in place, the logit of every distinct id in `ids` (a token seen twice is penalised
 * once, as transformers' gather/scatter does); returns the original values to restore.
 */
export function applyRepetitionPenalty(logits: Float32Array, ids: readonly number[], penalty: number): Map<number, number> {
  const saved = new Map<number, number>();
  for (const id of ids) {
    if (saved.has(id) || id < 0 || id >= logits.length) continue;
    const value = logits[id];
    saved.set(id, value);
    logits[id] = value > 0 ? value / penalty : value * penalty;
  }
  return saved;
}

/** log softmax(logits)[id]: the model's log-probability of token `id`. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  return logits[id] - logSumExp(logits, maxOf(logits));
}

function maxOf(logits: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  return max;
}

function logSumExp(logits: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}
