// The architecture numbers the graph builders, host planners and the reference
// forward pass need, taken from the checkpoint's config (never code defaults).
import type { Qwen3AsrAudioConfig, Qwen3AsrTextConfig } from '../config.js';
import type { OutputHead } from './output-head.js';

/** The audio config plus the encoder's LayerNorm epsilon (not in config.json). */
export type EncoderDims = Qwen3AsrAudioConfig & { layerNormEps: number };

/** The text config plus the id whose embeddings the audio replaces and the output head's tensor (graph/output-head.ts). */
export type DecoderDims = Omit<Qwen3AsrTextConfig, 'tieWordEmbeddings'> & { audioTokenId: number; head: OutputHead };

/** Length after one 3x3 / stride 2 / pad 1 convolution. */
export function convOutLength(frames: number): number {
  return Math.floor((frames + 1) / 2);
}

/** Tokens the encoder emits for `frames` frames of one chunk (three stride-2 convolutions). */
export function chunkTokens(frames: number): number {
  return convOutLength(convOutLength(convOutLength(frames)));
}

/** Mel frames per chunk (2·n_window). */
export function chunkFrames(d: EncoderDims): number {
  return 2 * d.nWindow;
}

/** Tokens per attention window (104 for the released checkpoints). */
export function windowTokens(d: EncoderDims): number {
  return chunkTokens(chunkFrames(d)) * (d.nWindowInfer / chunkFrames(d));
}

/** Audio tokens for a clip of `frames` mel frames (N = 13·floor(T/100) + ceil((T mod 100)/8) for n_window 50). */
export function audioTokenCount(d: EncoderDims, frames: number): number {
  const cf = chunkFrames(d);
  return Math.floor(frames / cf) * chunkTokens(cf) + chunkTokens(frames % cf);
}
