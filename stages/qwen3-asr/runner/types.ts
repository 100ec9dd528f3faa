// The Qwen3-ASR encoder runner's contract (the decoder runner implements the
// shared engine's DecoderRunner, common/engine/runner.ts).

/** One clip's log-mel features: row-major [128, frames]. */
export interface MelInput { mel: Float32Array; frames: number }

export interface EncoderRunner {
  readonly outputDim: number;
  /** Encodes a batch of clips in one onnxruntime run; returns per clip [tokens, outputDim]. */
  encode(clips: MelInput[]): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}
