// Stage `audio/decode`: uploaded file bytes → 16 kHz mono float samples, decoded and
// resampled piece by piece (memory: the upload and the 16 kHz result, see mono-sink.ts).
// Consumes payload.audio; adds channels (one 16 kHz plane), sampleRate (16000), duration.
// Items run concurrently in a worker (the pipeline's `concurrency`): decoders yield between
// pieces of ~10 ms, so a short upload behind a long one is not held until that one ends.
// A cancelled request (client gone) stops at its next piece: ffmpeg killed, buffers dropped.
// Metrics: decodes_running and ffmpeg_running (now); decodes_cancelled, decoded_audio_s (finished
// decodes) and source_s_resampled (every decode's progress, published at most every 250 ms) so far.
import type { ItemContext, StagePlugin } from '../../src/runtime/contracts.js';
import { decodeAudio } from './decode.js';
import { badPayload } from './errors.js';
import { processEach } from './stage-items.js';

export { decodeAudio } from './decode.js';
export { probeDuration } from './probe.js';

const DEFAULT_MAX_DURATION_S = 10800;
const PROGRESS_EVERY_MS = 250;

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
    const totals = { decoded_audio_s: 0, resample_multiply_adds: 0, source_s_resampled: 0, decodes_cancelled: 0, decodes_running: 0, ffmpeg_running: 0 };
    let publishedAt = 0;
    const publish = () => {
      publishedAt = Date.now();
      env.publishMetrics?.({ ...totals });
    };
    const onChild = (change: 1 | -1) => {
      totals.ffmpeg_running += change;
      publish();
    };
    const decode = async (bytes: Uint8Array, ctx: ItemContext) => {
      const cancel = new AbortController();
      ctx.onCancel(() => cancel.abort());
      let progress = 0;
      const onProgress = (seconds: number) => {
        totals.source_s_resampled += seconds - progress;
        progress = seconds;
        if (Date.now() - publishedAt >= PROGRESS_EVERY_MS) publish();
      };
      totals.decodes_running++;
      publish();
      try {
        const decoded = await decodeAudio(bytes, { maxDurationS, signal: cancel.signal, onChild, onProgress });
        totals.decoded_audio_s += decoded.duration;
        totals.resample_multiply_adds += decoded.resampleWork;
        return decoded;
      } catch (err) {
        if (cancel.signal.aborted) totals.decodes_cancelled++; // stopped by the cancel, whatever threw
        throw err;
      } finally {
        totals.decodes_running--;
        publish();
      }
    };
    return {
      process: (items) =>
        processEach(env.stageName, items, async ({ audio, ...rest }, ctx) => {
          const { channels, sampleRate, duration } = await decode(uploadedBytes(audio), ctx);
          return { ...rest, channels, sampleRate, duration };
        }),
    };
  },
};
export default plugin;
