// Transcription results in each OpenAI response_format, as the exact bytes
// sent. Subtitles are built from the segments: SRT cues are numbered and use
// "00:00:01,500"; WebVTT starts with a WEBVTT header and uses "00:00:01.500".
// With word timestamps, a cue spans its segment's words (first start to last
// end) instead of the whole segment, silence around the speech included.
import type { TokenLogprob, TranscriptionResult, TranscriptSegment, WordTimestamp } from '../../../contracts/transcription.js';

export const RESPONSE_FORMATS = ['json', 'text', 'verbose_json', 'srt', 'vtt'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

export const isResponseFormat = (value: string): value is ResponseFormat => (RESPONSE_FORMATS as readonly string[]).includes(value);

export interface FormattedResponse {
  contentType: string;
  body: string;
}

export interface DurationUsage {
  type: 'duration';
  seconds: number;
}

/** Billed seconds, whole and rounded up like OpenAI's. */
export function durationUsage(durationS: number): DurationUsage {
  return { type: 'duration', seconds: Math.ceil(durationS) };
}

/** hh:mm:ss plus milliseconds after `separator`; hours grow past two digits when needed. */
export function subtitleTimestamp(seconds: number, separator: ',' | '.'): string {
  const totalMs = Math.round(Math.max(0, seconds) * 1000);
  const ms = totalMs % 1000;
  const totalS = (totalMs - ms) / 1000;
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(Math.floor(totalS / 3600))}:${pad(Math.floor(totalS / 60) % 60)}:${pad(totalS % 60)}${separator}${pad(ms, 3)}`;
}

/** Cue text: trimmed, and without blank lines (a blank line ends a cue in both formats). */
const cueText = (text: string) => text.trim().replace(/\n\s*\n/g, '\n');

/** Segments with text, timed by their words when there are any inside them. */
function cuesOf(segments: TranscriptSegment[], words: WordTimestamp[] = []): TranscriptSegment[] {
  return segments.filter((segment) => cueText(segment.text) !== '').map((s) => {
    const inside = words.filter((w) => w.start >= s.start && w.end <= s.end);
    return inside.length ? { ...s, start: inside[0].start, end: Math.max(inside[0].start, inside[inside.length - 1].end) } : s;
  });
}

export function toSrt(segments: TranscriptSegment[], words?: WordTimestamp[]): string {
  return cuesOf(segments, words)
    .map((s, i) => `${i + 1}\n${subtitleTimestamp(s.start, ',')} --> ${subtitleTimestamp(s.end, ',')}\n${cueText(s.text)}\n\n`)
    .join('');
}

/** WebVTT cue text may not contain '<', '&' or '-->' raw. */
const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toVtt(segments: TranscriptSegment[], words?: WordTimestamp[]): string {
  const cues = cuesOf(segments, words).map((s) => `${subtitleTimestamp(s.start, '.')} --> ${subtitleTimestamp(s.end, '.')}\n${escapeVtt(cueText(s.text))}\n\n`);
  return `WEBVTT\n\n${cues.join('')}`;
}

export function toVerboseJson(result: TranscriptionResult) {
  return {
    task: 'transcribe',
    // OpenAI names languages in lower-case English ("english").
    language: result.language.toLowerCase(),
    duration: result.duration,
    text: result.text,
    segments: result.segments.map((s) => ({
      id: s.id,
      // Whisper's seek is the window offset in 10 ms mel frames; ours is the segment's start in the same unit.
      seek: Math.round(s.start * 100),
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: s.tokens,
      temperature: s.temperature,
      avg_logprob: s.avg_logprob,
      compression_ratio: s.compression_ratio,
      no_speech_prob: s.no_speech_prob,
    })),
    ...(result.words ? { words: result.words } : {}),
    usage: durationUsage(result.duration),
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** Every segment's token log-probabilities in order (include[]=logprobs); OpenAI lists them for the whole text. */
export function allLogprobs(result: TranscriptionResult): TokenLogprob[] {
  return result.segments.flatMap((s) => s.logprobs ?? []);
}

export interface FormatOptions {
  /** include[]=logprobs: json lists each token's log-probability, as OpenAI's does. */
  logprobs?: boolean;
}

export function formatTranscription(result: TranscriptionResult, format: ResponseFormat, opts: FormatOptions = {}): FormattedResponse {
  switch (format) {
    case 'json': {
      const logprobs = opts.logprobs ? { logprobs: allLogprobs(result) } : {};
      return { contentType: JSON_TYPE, body: JSON.stringify({ text: result.text, ...logprobs, usage: durationUsage(result.duration) }) };
    }
    case 'text':
      return { contentType: TEXT_TYPE, body: result.text };
    case 'verbose_json':
      return { contentType: JSON_TYPE, body: JSON.stringify(toVerboseJson(result)) };
    case 'srt':
      return { contentType: TEXT_TYPE, body: toSrt(result.segments, result.words) };
    case 'vtt':
      return { contentType: 'text/vtt; charset=utf-8', body: toVtt(result.segments, result.words) };
  }
}
