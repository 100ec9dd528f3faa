// What the session sends the audio thread (audio-worker.ts) and what comes back.
// The result is one transferred buffer (zero-copy across threads): the window
// count, the windows' speech probabilities, then the 16 kHz samples.
import type { AudioFormat } from './audio-formats.js';

export type AudioTask =
  | {
      op: 'push';
      /** The stream (one per session). */
      id: string;
      format: AudioFormat;
      /** The client's decoded bytes, transferred. */
      bytes: ArrayBuffer;
      /** Run the VAD over the samples (server_vad turn detection). */
      vad: boolean;
      /** Write out the resampler's look-ahead (a manual commit ends the turn). */
      flush: boolean;
    }
  | { op: 'close'; id: string; format?: undefined };

export interface PushResult {
  /** 16 kHz mono samples of the bytes pushed. */
  samples: Float32Array;
  /** Speech probability of each 512-sample window completed by them (empty without vad). */
  probs: Float32Array;
}

export function packResult({ samples, probs }: PushResult): ArrayBuffer {
  const out = new Float32Array(1 + probs.length + samples.length);
  out[0] = probs.length;
  out.set(probs, 1);
  out.set(samples, 1 + probs.length);
  return out.buffer;
}

export function unpackResult(buffer: ArrayBuffer): PushResult {
  const all = new Float32Array(buffer);
  const count = all[0];
  return { probs: all.subarray(1, 1 + count), samples: all.subarray(1 + count) };
}
