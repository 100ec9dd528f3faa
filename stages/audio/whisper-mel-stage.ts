// Stage `audio/whisper-mel`: 16 kHz mono samples → Whisper log-mel features, one
// entry per segment (audio longer than max_segment_s is cut at quiet points and each
// segment is normalised on its own, as the reference processes chunks independently).
// Consumes samples; sets segments [{ start, end (s), mel [n_mels, frames], frames }].
import type { StagePlugin } from '../../src/runtime/contracts.js';
import { badPayload } from './errors.js';
import { HOP, SAMPLE_RATE, whisperLogMel } from './mel.js';
import { splitAtQuietPoints } from './segment.js';
import { processEach } from './stage-items.js';

export { whisperLogMel } from './mel.js';
export { splitAtQuietPoints } from './segment.js';

/** Qwen3-ASR takes at most 20 minutes of audio in one pass. */
const MODEL_MAX_SEGMENT_S = 1200;
const DEFAULTS = { n_mels: 128, max_segment_s: MODEL_MAX_SEGMENT_S, search_s: 5 };

const plugin: StagePlugin = {
  name: 'audio/whisper-mel',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      n_mels: { type: 'integer', minimum: 1, maximum: 256, default: DEFAULTS.n_mels },
      max_segment_s: { type: 'number', minimum: 1, maximum: MODEL_MAX_SEGMENT_S, default: DEFAULTS.max_segment_s },
      search_s: { type: 'number', minimum: 0, default: DEFAULTS.search_s },
    },
  },
  create(env) {
    const { n_mels: nMels, max_segment_s: maxSegmentS, search_s: searchS } = { ...DEFAULTS, ...env.options } as typeof DEFAULTS;
    return {
      process: (items) =>
        processEach(env.stageName, items, ({ samples, sampleRate, ...rest }) => {
          if (!(samples instanceof Float32Array)) throw badPayload('audio/whisper-mel', 'samples', 'a Float32Array');
          if (sampleRate !== SAMPLE_RATE) throw badPayload('audio/whisper-mel', 'sampleRate', `${SAMPLE_RATE} (run audio/resample first)`);
          const bounds = splitAtQuietPoints(samples, { sampleRate: SAMPLE_RATE, maxSegmentS, searchS, step: HOP });
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
