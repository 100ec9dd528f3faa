// Stage `audio/decode`: uploaded file bytes → planar float channels at the file's rate.
// Consumes payload.audio; adds channels, sampleRate, duration.
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
    return {
      process: (items) =>
        processEach(env.stageName, items, async ({ audio, ...rest }) => {
          const { channels, sampleRate, duration } = await decodeAudio(uploadedBytes(audio), { maxDurationS });
          return { ...rest, channels, sampleRate, duration };
        }),
    };
  },
};
export default plugin;
