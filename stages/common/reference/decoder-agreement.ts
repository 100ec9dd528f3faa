// How closely one decoder runner follows another over the same teacher-forced
// sequence: both prefill the prompt, then take the same given tokens step by
// step, and every step's logits are compared (max |a - b| / max |reference|)
// along with their argmax. Used to measure what a cheaper decoder state (a
// float16 KV cache) costs against the float32 one, whose logits are checked
// against golden data elsewhere: prefill logits alone cannot show it, since a
// prompt attends only to its own keys, never to the stored cache.
import type { DecoderRunner } from '../engine/runner.js';
import { relativeError } from './golden-dir.js';

export interface StepAgreement {
  /** Logit vectors compared: the prefill's and one per forced token. */
  steps: number;
  /** Worst relative error over the steps. */
  maxRelError: number;
  /** Steps whose argmax agrees. */
  top1Agree: number;
}

/** Slot 0 of both runners, released afterwards. `forced` are the tokens fed after the prompt, in order. */
export async function decoderAgreement(reference: DecoderRunner, candidate: DecoderRunner, prompt: Int32Array, embeds: Float32Array | undefined, forced: number[]): Promise<StepAgreement> {
  const out: StepAgreement = { steps: 0, maxRelError: 0, top1Agree: 0 };
  const compare = (a: Float32Array, b: Float32Array) => {
    out.steps++;
    out.maxRelError = Math.max(out.maxRelError, relativeError(b, a));
    if (argmax(a) === argmax(b)) out.top1Agree++;
  };
  try {
    compare(await reference.prefill(0, prompt, embeds), await candidate.prefill(0, prompt, embeds));
    for (const id of forced) compare(await reference.decode([0], Int32Array.of(id)), await candidate.decode([0], Int32Array.of(id)));
  } finally {
    reference.release(0);
    candidate.release(0);
  }
  return out;
}

function argmax(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
