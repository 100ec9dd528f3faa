// The Qwen3-ASR encoder runner's contract (the decoder runner implements the
// shared engine's DecoderRunner, common/engine/runner.ts).

/**
 * One clip's log-mel features: row-major [128, frames]. `skipWindows`: leave out the clip's first
 * attention windows (their outputs are known, e.g. cached): the clip is planned as a whole (chunk
 * widths, padding) and only the tokens after those windows are computed and returned.
 */
export interface MelInput { mel: Float32Array; frames: number; skipWindows?: number }

export interface EncoderRunner {
  readonly outputDim: number;
  /** The attention window: its mel frames and the tokens it yields. A complete window's tokens depend on its frames only. */
  readonly window: { frames: number; tokens: number };
  /** Encodes a batch of clips in one onnxruntime run; returns per clip [tokens, outputDim]. */
  encode(clips: MelInput[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}
