// One run of each graph while its stage loads, shaped like a typical request
// (10 s of audio), so the first request does not pay for onnxruntime's first-run
// allocations: on the 0.6B int8 model (2 cores) the first 150-token prefill took
// 0.9 s and later ones 0.6 s. The stage reports ready only after this.
import type { DecoderRunner } from '../../common/engine/runner.js';
import type { EncoderRunner } from './types.js';

const WARMUP_FRAMES = 1000;
const WARMUP_PROMPT_TOKENS = 150;
/** Text tokens around the audio in a real prompt (system/user/assistant markup). */
const WARMUP_TEXT_TOKENS = 10;

export async function warmUpEncoder(runner: EncoderRunner, melBins: number): Promise<void> {
  await runner.encode([{ mel: new Float32Array(melBins * WARMUP_FRAMES), frames: WARMUP_FRAMES }]);
}

/** Prefills slot 0 with text and audio tokens, runs one decode step, and frees the slot again. */
export async function warmUpDecoder(runner: DecoderRunner, audioTokenId: number, hidden: number): Promise<void> {
  const tokens = Math.min(WARMUP_PROMPT_TOKENS, runner.maxContext - 1);
  const text = Math.min(WARMUP_TEXT_TOKENS, tokens - 1);
  const ids = Int32Array.from({ length: tokens }, (_, i) => (i < text ? i : audioTokenId));
  try {
    await runner.prefill(0, ids, new Float32Array((tokens - text) * hidden));
    await runner.decode([0], Int32Array.of(0));
  } finally {
    runner.release(0);
  }
}
