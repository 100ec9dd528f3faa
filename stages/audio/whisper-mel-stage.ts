// Stage `audio/whisper-mel`: 16 kHz mono samples → Whisper log-mel features, one
// entry per segment (audio longer than max_segment_s is cut at quiet points and each
// segment is normalised on its own, as the reference processes chunks independently).
// Consumes samples; sets segments [{ start, end (s), mel [n_mels, frames], frames }].
import type { StagePlugin } from '../../src/runtime/contracts.js';
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

/** payload.speech ([{start, end}] in seconds) → sample ranges on the mel hop grid. */
function speechBounds(speech: unknown, length: number): { start: number; end: number }[] {
  const ok = Array.isArray(speech) && speech.every((r) => Number.isFinite(r?.start) && Number.isFinite(r?.end) && r.end >= r.start);
  if (!ok) throw badPayload('audio/whisper-mel', 'speech', 'an array of { start, end } seconds');
  const hop = (s: number) => Math.min(length, Math.round((s * SAMPLE_RATE) / HOP) * HOP);
  return (speech as { start: number; end: number }[]).map((r) => ({ start: hop(r.start), end: hop(r.end) })).filter((r) => r.end > r.start);
}

const plugin: StagePlugin = {
  name: 'audio/whisper-mel',
  create(env) {
    const { n_mels: nMels, max_segment_s: maxSegmentS, search_s: searchS } = env.options as unknown as MelOptions;
    return {
      process: (items) =>
        processEach(env.stageName, items, ({ samples, sampleRate, speech, ...rest }) => {
          if (!(samples instanceof Float32Array)) throw badPayload('audio/whisper-mel', 'samples', 'a Float32Array');
          if (sampleRate !== SAMPLE_RATE) throw badPayload('audio/whisper-mel', 'sampleRate', `${SAMPLE_RATE} (run audio/resample first)`);
          const split = { sampleRate: SAMPLE_RATE, maxSegmentS, searchS, step: HOP, maxGapS: MAX_KEPT_PAUSE_S };
          // With speech regions (a VAD stage ran for this request) only speech is sent on, cut at its pauses.
          const bounds = speech === undefined ? splitAtQuietPoints(samples, split) : splitAtSpeech(samples, speechBounds(speech, samples.length), split);
          const segments = bounds.map(({ start, end }) => {
            const { mel, frames } = whisperLogMel(samples.subarray(start, end), nMels);
            return { start: start / SAMPLE_RATE, end: end / SAMPLE_RATE, mel, frames };
          });
          return { ...rest, sampleRate, segments, duration: samples.length / SAMPLE_RATE };
        }),
    };
  },
};
export default plugin;
