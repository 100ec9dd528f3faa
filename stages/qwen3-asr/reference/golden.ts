// Reads a Qwen3-ASR golden set (stages/common/reference/golden-dir.ts): tensors the
// official Qwen3-ASR code computed, with a manifest.json that names the inputs, the
// prompts and the tolerances.
import { GoldenDir } from '../../common/reference/golden-dir.js';

export interface GoldenPrompt { context: string; language: string | null }

export interface GoldenManifest {
  steps: number;
  prompts: Record<string, GoldenPrompt>;
  /** `wav`, when present, names the input's WAV file relative to the set (else NAME.wave.npy holds it). */
  inputs: Record<string, { samples: number; frames: number; audio_tokens: number; wav?: string } & Record<string, unknown>>;
  tolerances: { mel: { max_abs: number }; encoder_fp32: { max_rel: number }; logits_fp32: { max_rel: number } } & Record<string, unknown>;
  config: { eos_token_ids: number[] } & Record<string, unknown>;
}

export class GoldenSet extends GoldenDir<GoldenManifest> {
  get inputs(): string[] { return Object.keys(this.manifest.inputs); }
  get prompts(): string[] { return Object.keys(this.manifest.prompts); }

  floats(name: string): Float32Array {
    const data = this.array(name);
    if (!(data instanceof Float32Array)) throw new Error(`${name}.npy holds ids, not floats`);
    return data;
  }

  ids(name: string): number[] {
    const data = this.array(name);
    if (!(data instanceof Int32Array)) throw new Error(`${name}.npy holds floats, not ids`);
    return Array.from(data);
  }

  /** Greedy ids up to (not including) the first EOS, as generation would stop there. */
  greedyBeforeEos(input: string, prompt: string): number[] {
    const ids = this.ids(`${input}.${prompt}.greedy`);
    const eos = ids.findIndex((id) => this.manifest.config.eos_token_ids.includes(id));
    return eos < 0 ? ids : ids.slice(0, eos);
  }
}
