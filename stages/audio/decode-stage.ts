// Stage `audio/decode`: uploaded file bytes → 16 kHz mono float samples, decoded and
// resampled piece by piece (memory: the upload and the 16 kHz result, see mono-sink.ts).
// Consumes payload.audio; adds channels (one 16 kHz plane), sampleRate (16000), duration.
// Items run concurrently in a worker (the pipeline's `concurrency`, as many as are admitted):
// decoders yield between pieces of ~10 ms, so with N decoding each gets ~1/N of the CPU and a
// short upload behind long ones is not held until they end. Their memory is bounded by a
// stage-wide budget of 16 kHz output bytes (decode-budget.ts), not by a count of slots.
// A cancelled request (client gone) stops at its next piece: ffmpeg killed, buffers dropped.
// Metrics: decodes_running and ffmpeg_running (now); decodes_cancelled, decoded_audio_s (finished
// decodes) and source_s_resampled (every decode's progress, published at most every 250 ms) so far.
import type { ItemContext, StagePlugin } from '../../src/runtime/contracts.js';
import { decodeAudio } from './decode.js';
import { ERR_OVERLOADED, runtimeError } from '../../src/runtime/errors.js';
import { DecodeBudget } from './decode-budget.js';
import { badPayload } from './errors.js';
import { probeDuration } from './probe.js';
import { TARGET_RATE } from './resample.js';
import { processEach } from './stage-items.js';

export { decodeAudio } from './decode.js';
export { probeDuration } from './probe.js';

/** Options (decode.plugin.yaml declares them; the pipeline fills in the defaults). */
interface DecodeOptions {
  max_duration_s: number;
  memory_budget_mb: number;
}

const BYTES_PER_S = TARGET_RATE * 4;
/** The sink commits at least 30 s, then grows by 1.5× (mono-sink.ts): what a declared length will commit. */
const FIRST_COMMIT_S = 30;
const GROWTH = 1.5;
const PROGRESS_EVERY_MS = 250;

function uploadedBytes(audio: unknown): Uint8Array {
  if (audio instanceof ArrayBuffer) return new Uint8Array(audio);
  if (audio instanceof Uint8Array) return audio;
  throw badPayload('audio/decode', 'audio', 'an ArrayBuffer of the uploaded file');
}

const plugin: StagePlugin = {
  name: 'audio/decode',
  create(env) {
    const { max_duration_s: maxDurationS, memory_budget_mb: budgetMb } = env.options as unknown as DecodeOptions;
    const budget = new DecodeBudget(budgetMb * 2 ** 20);
    const capBytes = (Math.ceil(maxDurationS * TARGET_RATE) + TARGET_RATE) * 4; // the sink's own reservation
    /** Bytes a request takes before it decodes: what its declared length will commit, the cap when unknown. */
    const reservation = (bytes: Uint8Array) => {
      const declared = probeDuration(bytes);
      const wanted = declared === null ? capBytes : Math.max(FIRST_COMMIT_S, GROWTH * (declared + 1)) * BYTES_PER_S;
      return Math.ceil(Math.min(wanted, capBytes, budget.totalBytes));
    };
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
      let held = reservation(bytes);
      await budget.take(held, cancel.signal); // only a long (or unknown-length) upload can wait here
      // a length the header understated grows past the reservation only while the budget has room
      const onCommit = (byteLength: number) => {
        if (byteLength <= held) return;
        if (!budget.tryTake(byteLength - held)) throw runtimeError(ERR_OVERLOADED, `audio/decode: the upload decodes past its declared length and the stage's ${budget.totalBytes >> 20} MiB of decode memory is in use; retry later`);
        held = byteLength;
      };
      totals.decodes_running++;
      publish();
      try {
        const decoded = await decodeAudio(bytes, { maxDurationS, signal: cancel.signal, onChild, onProgress, onCommit });
        totals.decoded_audio_s += decoded.duration;
        totals.resample_multiply_adds += decoded.resampleWork;
        return decoded;
      } catch (err) {
        if (cancel.signal.aborted) totals.decodes_cancelled++; // stopped by the cancel, whatever threw
        throw err;
      } finally {
        budget.give(held);
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
