// Stage `audio/resample`: planar channels at any rate → 16 kHz mono, peak-normalised
// as Qwen3-ASR does. Consumes channels; sets samples, sampleRate (16000), duration.
// After audio/decode, which already delivers 16 kHz mono, only the normalisation is left.
import type { StagePlugin } from '../../src/runtime/contracts.js';
import { badPayload } from './errors.js';
import { resampleTo16kMono, TARGET_RATE } from './resample.js';
import { processEach } from './stage-items.js';

export { resampleTo16kMono } from './resample.js';

function channelsOf(channels: unknown): Float32Array[] {
  if (Array.isArray(channels) && channels.length > 0 && channels.every((c) => c instanceof Float32Array && c.length === channels[0].length))
    return channels as Float32Array[];
  throw badPayload('audio/resample', 'channels', 'a non-empty array of equal-length Float32Arrays');
}

const plugin: StagePlugin = {
  name: 'audio/resample',
  create(env) {
    return {
      process: (items) =>
        processEach(env.stageName, items, ({ channels, sampleRate, ...rest }) => {
          const planes = channelsOf(channels);
          if (!Number.isInteger(sampleRate) || (sampleRate as number) <= 0) throw badPayload('audio/resample', 'sampleRate', 'a positive integer');
          const samples = resampleTo16kMono(planes, sampleRate as number);
          return { ...rest, samples, sampleRate: TARGET_RATE, duration: samples.length / TARGET_RATE };
        }),
    };
  },
};
export default plugin;
