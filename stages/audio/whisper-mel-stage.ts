// Stage `audio/whisper-mel`: 16 kHz mono samples → Whisper log-mel features, one
// entry per segment (audio longer than max_segment_s is cut at quiet points and each
// segment is normalised on its own, as the reference processes chunks independently).
// Consumes samples; sets segments [{ start, end (s), mel [n_mels, frames], frames }].
// Times in and out are in the original timeline: payload.timeline (set by a stage that
// trimmed the audio) maps them to and from the samples held here.
import type { StagePlugin } from '../../src/runtime/contracts.js';
import { mediaTime, readTimeline, sourceRange, sourceTime, type Timeline } from '../../src/runtime/timeline.js';
import { badPayload } from './errors.js';
import { HOP, SAMPLE_RATE, whisperLogMel } from './mel.js';
import { splitAtQuietPoints, splitAtSpeech } from './segment.js';
import { processEach } from './stage-items.js';

export { whisperLogMel } from './mel.js';
export { splitAtQuietPoints } from './segment.js';

/** Options (whisper-mel.plugin.yaml declares them; the pipeline fills in the defaults). */
interface MelOptions {
  n_mels: number;
  max_segment_s: number;
  search_s: number;
}

/** Pauses shorter than this stay inside a segment: the decoder keeps its context across them, and
 *  a second costs 13 audio tokens; longer ones are skipped. */
const MAX_KEPT_PAUSE_S = 1;

/** payload.speech ([{start, end}] in original seconds) → sample ranges on the mel hop grid. */
function speechBounds(speech: unknown, length: number, timeline: Timeline | undefined): { start: number; end: number }[] {
  const ok = Array.isArray(speech) && speech.every((r) => Number.isFinite(r?.start) && Number.isFinite(r?.end) && r.end >= r.start);
  if (!ok) throw badPayload('audio/whisper-mel', 'speech', 'an array of { start, end } seconds');
  const hop = (s: number) => Math.min(length, Math.round((mediaTime(timeline, s) * SAMPLE_RATE) / HOP) * HOP);
  return (speech as { start: number; end: number }[]).map((r) => ({ start: hop(r.start), end: hop(r.end) })).filter((r) => r.end > r.start);
}

const plugin: StagePlugin = {
  name: 'audio/whisper-mel',
  create(env) {
    const { n_mels: nMels, max_segment_s: maxSegmentS, search_s: searchS } = env.options as unknown as MelOptions;
    return {
      process: (items) =>
        processEach(env.stageName, items, (payload) => {
          // The timeline describes the samples, which end here: neither goes on.
          const { samples, sampleRate, speech, timeline: _samplesTimeline, ...rest } = payload;
          const timeline = readTimeline(payload, 'audio/whisper-mel');
          if (!(samples instanceof Float32Array)) throw badPayload('audio/whisper-mel', 'samples', 'a Float32Array');
          if (sampleRate !== SAMPLE_RATE) throw badPayload('audio/whisper-mel', 'sampleRate', `${SAMPLE_RATE} (run audio/resample first)`);
          const split = { sampleRate: SAMPLE_RATE, maxSegmentS, searchS, step: HOP, maxGapS: MAX_KEPT_PAUSE_S };
          // With speech regions (a VAD stage ran for this request) only speech is sent on, cut at its pauses.
          const bounds = speech === undefined ? splitAtQuietPoints(samples, split) : splitAtSpeech(samples, speechBounds(speech, samples.length, timeline), split);
          const segments = bounds.map(({ start, end }) => {
            const { mel, frames } = whisperLogMel(samples.subarray(start, end), nMels);
            return { ...sourceRange(timeline, { start: start / SAMPLE_RATE, end: end / SAMPLE_RATE }), mel, frames };
          });
          // A stage that trimmed the audio left the original's duration in place.
          const duration = timeline && typeof rest.duration === 'number' ? rest.duration : sourceTime(timeline, samples.length / SAMPLE_RATE, 'end');
          return { ...rest, sampleRate, segments, duration };
        }),
    };
  },
};
export default plugin;
