// Speech regions from window probabilities, and the request's `chunking_strategy`
// (OpenAI's transcription field) read into the detector's settings.
//
// The detector is Silero's own rule (get_speech_timestamps): speech starts at a
// window whose probability reaches `threshold` and ends once it stays below
// threshold - 0.15 for `silence_duration_ms`; shorter bursts than 250 ms are dropped.
// Each region then gets `prefix_padding_ms` before it and 100 ms after it (Silero's
// probability falls before a trailing consonant ends), and overlapping ones merge.
import { VAD_SAMPLE_RATE, WINDOW } from './model.js';

/** OpenAI's server_vad defaults (openai-node: realtime turn detection, the same three fields). */
export const SERVER_VAD_DEFAULTS = { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } as const;
const MIN_SPEECH_MS = 250;
const TAIL_PADDING_MS = 100;
/** Silero's hysteresis: below threshold - 0.15 counts as silence. */
const HYSTERESIS = 0.15;

export interface VadSettings {
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  /** Loudness-normalise what the VAD reads first (loudness.ts): "auto" does, as OpenAI describes it. */
  normalize?: boolean;
}

/** A region of the original audio, in seconds. */
export interface SpeechRegion {
  start: number;
  end: number;
}

/**
 * `params.chunking_strategy` → settings; undefined when absent (no VAD for this request).
 * The value's one check is the request schema in vad.plugin.yaml, applied by the handler before
 * the request enters the pipeline (a 400 naming the field, listing the route's fields); what
 * arrives here is "auto" or a server_vad object within its bounds.
 */
export function readChunkingStrategy(value: unknown): VadSettings | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto') return { ...SERVER_VAD_DEFAULTS, normalize: true };
  const { threshold, prefix_padding_ms, silence_duration_ms } = { ...SERVER_VAD_DEFAULTS, ...(value as Partial<VadSettings>) };
  return { threshold, prefix_padding_ms, silence_duration_ms };
}

/** Speech regions (seconds, in the stream's timeline) of a stream of `length` samples. */
export function speechRegions(probs: Float32Array, length: number, settings: VadSettings): SpeechRegion[] {
  const ms = VAD_SAMPLE_RATE / 1000;
  const minSilence = settings.silence_duration_ms * ms;
  const negThreshold = Math.max(settings.threshold - HYSTERESIS, 0.01);
  const raw: [number, number][] = [];
  let start = -1;
  let silentFrom = -1;
  const close = (end: number) => {
    if (end - start >= MIN_SPEECH_MS * ms) raw.push([start, end]);
    start = -1;
    silentFrom = -1;
  };
  for (let i = 0; i < probs.length; i++) {
    const at = i * WINDOW;
    if (probs[i] >= settings.threshold) {
      silentFrom = -1;
      if (start < 0) start = at;
    } else if (start >= 0 && probs[i] < negThreshold) {
      if (silentFrom < 0) silentFrom = at;
      if (at + WINDOW - silentFrom >= minSilence) close(silentFrom);
    }
  }
  if (start >= 0) close(length);

  const regions: SpeechRegion[] = [];
  for (const [s, e] of raw) {
    const from = Math.max(0, s - settings.prefix_padding_ms * ms);
    const to = Math.min(length, e + TAIL_PADDING_MS * ms);
    const last = regions[regions.length - 1];
    if (last && from / VAD_SAMPLE_RATE <= last.end) last.end = to / VAD_SAMPLE_RATE;
    else regions.push({ start: from / VAD_SAMPLE_RATE, end: to / VAD_SAMPLE_RATE });
  }
  return regions;
}
