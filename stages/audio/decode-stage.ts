// Stage `audio/decode`: uploaded file bytes → 16 kHz mono float samples, decoded and
// resampled piece by piece (memory: the upload and the 16 kHz result, see mono-sink.ts).
// Consumes payload.audio; adds channels (one 16 kHz plane), sampleRate (16000), duration.
// Items run concurrently in a worker (the pipeline's `concurrency`): decoders yield between
// pieces of ~10 ms, so a short upload behind a long one is not held until that one ends.
import type { StagePlugin } from '../../src/runtime/contracts.js';
import { decodeAudio } from './decode.js';
import { badPayload } from './errors.js';
import { processEach } from './stage-items.js';

export { decodeAudio } from './decode.js';
export { probeDuration } from './probe.js';

const DEFAULT_MAX_DURATION_S = 10800;

function uploadedBytes(audio: unknown): Uint8Array {
  if (audio instanceof ArrayBuffer) return new Uint8Array(audio);
  if (audio instanceof Uint8Array) return audio;
  throw badPayload('audio/decode', 'audio', 'an ArrayBuffer of the uploaded file');
}

const plugin: StagePlugin = {
  name: 'audio/decode',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      max_duration_s: { type: 'number', exclusiveMinimum: 0, default: DEFAULT_MAX_DURATION_S },
    },
  },
  create(env) {
    const maxDurationS = (env.options.max_duration_s as number | undefined) ?? DEFAULT_MAX_DURATION_S;
    const totals = { decoded_audio_s: 0, resample_multiply_adds: 0 };
    return {
      process: (items) =>
        processEach(env.stageName, items, async ({ audio, ...rest }) => {
          const { channels, sampleRate, duration, resampleWork } = await decodeAudio(uploadedBytes(audio), { maxDurationS });
          totals.decoded_audio_s += duration;
          totals.resample_multiply_adds += resampleWork;
          env.publishMetrics?.({ ...totals });
          return { ...rest, channels, sampleRate, duration };
        }),
    };
  },
};
export default plugin;
