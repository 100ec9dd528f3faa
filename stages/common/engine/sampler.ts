// Picks the next token from one row of logits: argmax at temperature 0 (ties go
// to the lowest id, so greedy output never depends on scan order), otherwise a
// draw from softmax(logits / T) with the request's seeded generator. The
// logprob returned is the model's own (temperature 1) log-probability, which is
// what avg_logprob reports; it costs a pass over the vocabulary, so a sampler
// made without it returns NaN instead.
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

  sample(logits: Float32Array): SampledToken {
    let max = -Infinity;
    let argmax = 0;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] > max) {
        max = logits[i];
        argmax = i;
      }
    }
    const id = this.temperature === 0 ? argmax : this.draw(logits, max);
    return { id, logprob: this.withLogprob ? logits[id] - logSumExp(logits, max) : NaN };
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

/** log softmax(logits)[id]: the model's log-probability of token `id`. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  return logits[id] - logSumExp(logits, max);
}

function logSumExp(logits: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return max + Math.log(sum);
}
