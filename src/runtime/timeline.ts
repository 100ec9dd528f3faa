// Time offsets across stages: every time a stage puts in a payload (segment
// bounds, regions, word times) is in the original timeline of the upload. A stage
// that trims, cuts out or joins pieces of the media it passes on records where
// they came from in `payload.timeline`; a later stage maps the times it measures
// in the media it holds through it with sourceTime/sourceRange, and original
// times it reads back into that media with mediaTime. Absent, the media is the
// original. Exported to plugins as part of `sgl-omni-ts/plugin` (docs/PLUGINS.md).
import type { Payload } from './contracts.js';
import { badPayload } from './errors.js';

/** The payload field that holds the Timeline. */
export const TIMELINE_FIELD = 'timeline';

/** `length` seconds that start at `at` in the media a stage holds and at `source` in the original. */
export interface TimelinePiece {
  at: number;
  source: number;
  length: number;
}

/** The pieces the media is made of, end to end and in order (each `at` is the previous piece's end). */
export type Timeline = readonly TimelinePiece[];

/** A span of seconds, start ≤ end. */
export interface TimeSpan {
  start: number;
  end: number;
}

/** payload.timeline (or the timeline a stage kept under another name, `field`), checked; undefined
 *  when the media is the original. Throws badPayload when malformed. */
export function readTimeline(payload: Payload, stage: string, field = TIMELINE_FIELD): Timeline | undefined {
  const value = payload[field];
  if (value === undefined) return undefined;
  const ok = Array.isArray(value) && value.length > 0 && value.every((p, i) =>
    p !== null && typeof p === 'object'
    && [p.at, p.source, p.length].every(Number.isFinite) && p.length > 0 && p.source >= 0
    && (i === 0 ? p.at === 0 : Math.abs(p.at - (value[i - 1].at + value[i - 1].length)) < 1e-9));
  if (!ok) throw badPayload(stage, field, 'pieces { at, source, length } end to end from at 0 (sgl-omni-ts/plugin Timeline)');
  return value as Timeline;
}

/**
 * The original time of `t` seconds into the media. At a join, a start belongs to the piece after
 * it and an end to the piece before it, so a span never reaches into a part that was cut out.
 */
export function sourceTime(timeline: Timeline | undefined, t: number, side: 'start' | 'end' = 'start'): number {
  if (!timeline) return t;
  const inside = (p: TimelinePiece) => (side === 'start' ? t < p.at + p.length : t <= p.at + p.length);
  const piece = timeline.find(inside) ?? timeline[timeline.length - 1];
  return piece.source + Math.min(Math.max(t - piece.at, 0), piece.length);
}

/** A span of the media in the original timeline. */
export function sourceRange(timeline: Timeline | undefined, span: TimeSpan): TimeSpan {
  return { start: sourceTime(timeline, span.start, 'start'), end: sourceTime(timeline, span.end, 'end') };
}

/** Where original time `s` is in the media; a time in a part that was cut out is where the media resumes. */
export function mediaTime(timeline: Timeline | undefined, s: number): number {
  if (!timeline) return s;
  for (const p of timeline) {
    if (s < p.source) return p.at;
    if (s <= p.source + p.length) return p.at + (s - p.source);
  }
  const last = timeline[timeline.length - 1];
  return last.at + last.length;
}

/**
 * The timeline after a stage keeps only `kept` (seconds of the media it holds, in order, not
 * overlapping) and joins them end to end: what it records in payload.timeline. A kept span
 * that crosses an earlier join keeps that join.
 */
export function keepSpans(timeline: Timeline | undefined, kept: readonly TimeSpan[]): TimelinePiece[] {
  const before: Timeline = timeline ?? [{ at: 0, source: 0, length: Infinity }];
  const out: TimelinePiece[] = [];
  let at = 0;
  for (const span of kept) {
    for (const p of before) {
      const start = Math.max(span.start, p.at);
      const end = Math.min(span.end, p.at + p.length);
      if (end <= start) continue;
      const source = p.source + (start - p.at);
      const last = out[out.length - 1];
      // Contiguous in both timelines: one piece, not two.
      if (last && Math.abs(last.source + last.length - source) < 1e-9) last.length += end - start;
      else out.push({ at, source, length: end - start });
      at += end - start;
    }
  }
  return out;
}
