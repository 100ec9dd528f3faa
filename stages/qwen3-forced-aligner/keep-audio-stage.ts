// Stage `qwen3-forced-aligner/keep-audio`: keeps a copy of the 16 kHz samples
// as `alignment_audio` for the aligner at the end of the pipeline, since the
// log-mel front end consumes `samples` (it removes them) and the ASR encoder
// the mel. A copy, not a second reference to the same buffer: each field is
// transferred between worker threads on its own (64 KB per second of audio).
// When an earlier stage trimmed the samples, their timeline is kept beside them
// (`alignment_timeline`), as the front end drops `timeline` with the samples.
import type { StagePlugin } from '../../src/runtime/contracts.js';
import { readTimeline } from '../../src/runtime/timeline.js';
import { badPayload } from '../common/engine/errors.js';
import { processEach } from '../audio/stage-items.js';
import { AUDIO_FIELD, AUDIO_TIMELINE_FIELD } from './decode/units.js';

const STAGE = 'qwen3-forced-aligner/keep-audio';

const plugin: StagePlugin = {
  name: STAGE,
  create(env) {
    return {
      process: (items) => processEach(env.stageName, items, (payload) => {
        const { samples, sampleRate } = payload;
        if (!(samples instanceof Float32Array) || sampleRate !== 16000) throw badPayload(STAGE, 'samples', 'a Float32Array at sampleRate 16000 (run audio/resample first)');
        const timeline = readTimeline(payload, STAGE);
        return { ...payload, [AUDIO_FIELD]: samples.slice(), ...(timeline && { [AUDIO_TIMELINE_FIELD]: timeline }) };
      }),
    };
  },
};
export default plugin;
