// One turn's transcription: its 16 kHz samples go through the pipeline like any
// upload (a float WAV, so the decode stage reads them exactly), sharing the
// decoder's continuous batching with HTTP requests; the decoder's deltas arrive as
// pipeline events while it decodes, and the completed text is the pipeline's.
// Partials and the final decode of a turn differ only in their extra params
// (partials.ts: the forced answer prefix, a token budget).
import type { Payload, Pipeline } from '../../../runtime/contracts.js';
import { SAMPLE_RATE } from './audio-formats.js';

const HEADER_BYTES = 44;
const IEEE_FLOAT = 3;

/** A mono 32-bit float WAV of `samples` at 16 kHz (the samples copied once, after the header). */
export function floatWav(samples: Float32Array): ArrayBuffer {
  const out = new ArrayBuffer(HEADER_BYTES + samples.byteLength);
  const view = new DataView(out);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, out.byteLength - 8, true);
  text(8, 'WAVE');
  text(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, IEEE_FLOAT, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, SAMPLE_RATE, true);
  view.setUint32(28, SAMPLE_RATE * 4, true);
  view.setUint16(32, 4, true);
  view.setUint16(34, 32, true);
  text(36, 'data');
  view.setUint32(40, samples.byteLength, true);
  new Float32Array(out, HEADER_BYTES).set(samples);
  return out;
}

export interface TurnRequest {
  id: string;
  samples: Float32Array;
  language?: string;
  prompt?: string;
  signal: AbortSignal;
  /** Further params (answer_prefix, max_new_tokens). */
  extra?: Record<string, unknown>;
  onDelta?(delta: string): void;
}

export interface TurnResult {
  text: string;
  /** The deltas the decoder streamed, joined (what it decoded past any forced prefix). */
  streamed: string;
  /** The text the decoder forced (answer_prefix less its unfixed tokens); absent when none. */
  forced?: string;
  /** Forced or detected language as the model names it; '' when none. */
  language: string;
  /** Seconds of audio. */
  duration: number;
}

export async function transcribeTurn(pipeline: Pipeline, turn: TurnRequest): Promise<TurnResult> {
  const params: Record<string, unknown> = { temperature: 0, stream: true, ...turn.extra };
  if (turn.language !== undefined) params.language = turn.language;
  if (turn.prompt !== undefined) params.prompt = turn.prompt;
  const payload: Payload = { audio: floatWav(turn.samples), filename: `${turn.id}.wav`, contentType: 'audio/wav', params };
  let streamed = '';
  const result = await pipeline.submit(payload, {
    id: turn.id,
    signal: turn.signal,
    onEvent: (event) => {
      if (event.type !== 'delta' || typeof event.delta !== 'string' || event.delta === '') return;
      streamed += event.delta;
      turn.onDelta?.(event.delta);
    },
  });
  const text = typeof result.text === 'string' ? result.text : '';
  const forced = typeof result.forced_text === 'string' ? { forced: result.forced_text } : {};
  return { text, streamed, ...forced, language: typeof result.language === 'string' ? result.language : '', duration: turn.samples.length / SAMPLE_RATE };
}
