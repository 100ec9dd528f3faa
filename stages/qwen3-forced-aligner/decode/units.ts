// A payload → the pieces of audio to align and their words, with every check
// that makes a request a client error instead of a server one. A transcription
// (segments[] with text, from qwen3-asr/decoder) aligns each segment's text
// against its own audio, so times come out in the original timeline and long
// audio never reaches the aligner's limit in one piece (as qwen-asr aligns each
// ASR chunk and adds its offset). A standalone request (text, no segments)
// aligns the whole audio, which must fit the limit and hold the words. When a
// stage trimmed the audio, alignment_timeline maps original times to and from it.
import { StageError } from '../../../src/runtime/contracts.js';
import { mediaTime, readTimeline, sourceTime, type Timeline } from '../../../src/runtime/timeline.js';
import { splittingLanguage } from '../text/languages.js';
import { splitWords } from '../text/words.js';
import type { WordTime } from './timestamps.js';

export const ERR_ALIGN_EMPTY_TEXT = 'ERR_ALIGN_EMPTY_TEXT';
export const ERR_ALIGN_TEXT_TOO_LONG = 'ERR_ALIGN_TEXT_TOO_LONG';
export const ERR_ALIGN_AUDIO_TOO_LONG = 'ERR_ALIGN_AUDIO_TOO_LONG';
export const ERR_ALIGN_AUDIO_TOO_SHORT = 'ERR_ALIGN_AUDIO_TOO_SHORT';

/** The payload field qwen3-forced-aligner/keep-audio sets and the aligner consumes. */
export const AUDIO_FIELD = 'alignment_audio';
/** The kept samples' timeline (keep-audio sets it when the payload had one). */
export const AUDIO_TIMELINE_FIELD = 'alignment_timeline';

const SAMPLE_RATE = 16000;
/** One Whisper frame (25 ms window): less audio has no features to align to. */
const MIN_SAMPLES = 400;

export interface AlignUnit {
  /** Seconds from the start of the original audio. */
  start: number;
  end: number;
  samples: Float32Array;
  words: string[];
  /** Where `samples` start in the kept audio, and that audio's timeline (undefined: the original). */
  mediaStart: number;
  timeline?: Timeline;
}

export interface UnitLimits {
  /** Longest piece one alignment takes (Aligner.maxSeconds). */
  maxSeconds: number;
  /** Milliseconds per timestamp class: a known text may not hold more words than the audio has classes. */
  segmentMs: number;
}

interface TextSegment { start: number; end: number; text: string }

function textSegments(value: unknown): TextSegment[] | undefined {
  if (!Array.isArray(value) || !value.every((s) => typeof s?.text === 'string' && typeof s.start === 'number' && typeof s.end === 'number')) return undefined;
  return value as TextSegment[];
}

/** The language words are split for: the request's own, else the one the ASR model detected. */
function languageOf(payload: Record<string, unknown>): string | undefined {
  const requested = (payload.params as Record<string, unknown> | undefined)?.language;
  if (typeof requested === 'string' && requested) return splittingLanguage(requested, 'request');
  return typeof payload.language === 'string' ? splittingLanguage(payload.language, 'detected') : undefined;
}

export function alignUnits(payload: Record<string, unknown>, audio: Float32Array, limits: UnitLimits): AlignUnit[] {
  languageOf(payload); // refuses languages the aligner lacks or cannot split
  const timeline = readTimeline(payload, 'qwen3-forced-aligner/aligner', AUDIO_TIMELINE_FIELD);
  const at = (s: number) => Math.round(mediaTime(timeline, s) * SAMPLE_RATE);
  const segments = textSegments(payload.segments);
  if (segments) {
    // Segments with no words (silence) or too little audio have nothing to time.
    return segments.map((s) => ({ start: s.start, end: s.end, samples: audio.subarray(at(s.start), at(s.end)), words: splitWords(s.text), mediaStart: at(s.start) / SAMPLE_RATE, timeline }))
      .filter((u) => u.words.length > 0 && u.samples.length >= MIN_SAMPLES)
      .map((u) => checkLength(u, limits));
  }
  if (typeof payload.text !== 'string') throw new StageError('ERR_BAD_PAYLOAD', 'qwen3-forced-aligner/aligner: payload needs text or segments[].text', 'internal');
  const words = splitWords(payload.text);
  if (words.length === 0) throw new StageError(ERR_ALIGN_EMPTY_TEXT, 'text has no words to align (letters or numbers)', 'invalid_input', 'text');
  const seconds = audio.length / SAMPLE_RATE;
  if (audio.length < MIN_SAMPLES) throw new StageError(ERR_ALIGN_AUDIO_TOO_SHORT, `the audio is ${seconds.toFixed(3)} s long; alignment needs at least ${MIN_SAMPLES / SAMPLE_RATE} s`, 'invalid_input', 'file');
  const maxWords = Math.floor((seconds * 1000) / limits.segmentMs);
  if (words.length > maxWords) {
    throw new StageError(ERR_ALIGN_TEXT_TOO_LONG, `text has ${words.length} words but ${seconds.toFixed(2)} s of audio holds at most ${maxWords} (one per ${limits.segmentMs} ms time step); does the text belong to this audio?`, 'invalid_input', 'text');
  }
  const whole = { start: sourceTime(timeline, 0), end: sourceTime(timeline, seconds, 'end') };
  return [checkLength({ ...whole, samples: audio, words, mediaStart: 0, timeline }, limits)];
}

/** A unit's word times (seconds into its samples) in the original timeline, to the ms, within the unit. */
export function placeWords(unit: AlignUnit, words: WordTime[]): WordTime[] {
  const place = (v: number, side: 'start' | 'end') =>
    Math.min(unit.end, Math.max(unit.start, Math.round(sourceTime(unit.timeline, unit.mediaStart + v, side) * 1000) / 1000));
  return words.map((w) => ({ word: w.word, start: place(w.start, 'start'), end: place(w.end, 'end') }));
}

function checkLength(u: AlignUnit, limits: UnitLimits): AlignUnit {
  const seconds = u.samples.length / SAMPLE_RATE;
  if (seconds > limits.maxSeconds) {
    throw new StageError(ERR_ALIGN_AUDIO_TOO_LONG, `${seconds.toFixed(1)} s of audio in one alignment; the forced aligner takes at most ${limits.maxSeconds} s (split the audio, or transcribe it with word timestamps, which aligns each segment)`, 'too_long', 'file');
  }
  return u;
}
