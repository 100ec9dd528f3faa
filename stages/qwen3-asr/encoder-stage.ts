// Stage `qwen3-asr/encoder`: every segment's log-mel features → audio
// embeddings. All segments of all items handed over in one batch go through
// one runner.encode call; identical audio (same features) is encoded once, and
// a clip's complete attention windows seen before (live audio that grew since
// the last partial) come from the window cache: only the rest is encoded.
// Consumes segments[i].mel/frames; sets segments[i].audio [tokens, hidden] and segments[i].tokens.
// Publishes after every batch: batches, clips, encoder runs of distinct clips and their time, cache hits,
// complete windows reused from the window cache and encoded.
import type { ItemResult, Payload, StagePlugin } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';
import { createEncoderRunner } from './runner/index.js';
import type { MelInput } from './runner/types.js';
import { EncodeCache, fingerprint } from '../common/engine/encode-cache.js';
import { fingerprintColumns, WindowCache } from '../common/engine/window-cache.js';
import { badPayload, ERR_ENCODER_FAILED, runnerFailed } from '../common/engine/errors.js';
import { runnerOptions, type ModelStageOptions } from '../common/engine/runner-options.js';
import type { QuantKernel } from '../common/graph/context.js';
import { int8Kernel } from '../common/onnx/cpu-features.js';

const STAGE = 'qwen3-asr/encoder';
/** Options (encoder.plugin.yaml declares them; the pipeline fills in the defaults). */
interface EncoderOptions extends ModelStageOptions {
  int8_kernel: QuantKernel | 'auto';
  cache_entries: number;
  cache_mb: number;
  window_cache_mb: number;
}

interface MelSegment {
  start: number;
  end: number;
  mel: Float32Array;
  frames: number;
}

const plugin: StagePlugin = {
  name: STAGE,
  async create(env) {
    const options = env.options as unknown as EncoderOptions;
    const runner = await createEncoderRunner({ ...runnerOptions(env, options.precision), quantKernel: int8Kernel(options.int8_kernel, options.precision, true) });
    const cache = new EncodeCache<MelInput>({ maxEntries: options.cache_entries, maxBytes: options.cache_mb * 1024 * 1024 });
    const windows = options.window_cache_mb > 0 ? new WindowCache(options.window_cache_mb * 1024 * 1024, runner.window.tokens * runner.outputDim) : undefined;
    const counters = { batches: 0, clips: 0, encode_calls: 0, encoded_clips: 0, encode_ms: 0, cache_hits: 0, windows_reused: 0, windows_encoded: 0 };
    const windowKeys = (clip: MelInput) => {
      const keys: string[] = [];
      const { frames } = runner.window;
      for (let w = 0; (w + 1) * frames <= clip.frames; w++) keys.push(fingerprintColumns(clip.mel, clip.mel.length / clip.frames, clip.frames, w * frames, (w + 1) * frames));
      return keys;
    };
    const encodeWindows = (clips: MelInput[]) => windows
      ? windows.encodeAll(clips.map((input) => ({ input, windowKeys: windowKeys(input) })), (items) => runner.encode(items.map(({ input, skip }) => ({ ...input, skipWindows: skip }))))
      : runner.encode(clips);
    const encode = async (clips: MelInput[]) => {
      const started = performance.now();
      try {
        return await encodeWindows(clips);
      } catch (err) {
        throw runnerFailed(ERR_ENCODER_FAILED, err);
      } finally {
        counters.encode_calls++;
        counters.encoded_clips += clips.length;
        counters.encode_ms += performance.now() - started;
      }
    };

    return {
      async process(items): Promise<ItemResult[]> {
        const parsed = items.map(({ payload }) => {
          try {
            return { segments: melSegments(payload) };
          } catch (err) {
            return { error: toErrorInfo(err, env.stageName) };
          }
        });
        const clips = parsed.flatMap((p) => p.segments?.map((s) => ({ key: fingerprint(s.mel, s.frames), input: { mel: s.mel, frames: s.frames } })) ?? []);
        let embeddings: Float32Array[];
        try {
          embeddings = await cache.encodeAll(clips, encode);
        } catch (err) {
          const error = toErrorInfo(err, env.stageName);
          return parsed.map((p) => (p.error ? { ok: false, error: p.error } : { ok: false, error }));
        } finally {
          counters.batches++;
          counters.clips += clips.length;
          counters.cache_hits = cache.hits;
          counters.windows_reused = windows?.reused ?? 0;
          counters.windows_encoded = windows?.encoded ?? 0;
          env.publishMetrics?.(counters);
        }
        let next = 0;
        return items.map(({ payload }, i): ItemResult => {
          const { segments, error } = parsed[i];
          if (!segments) return { ok: false, error: error! };
          const encoded = segments.map(({ mel: _mel, ...segment }) => {
            const audio = embeddings[next++];
            return { ...segment, audio, tokens: audio.length / runner.outputDim };
          });
          return { ok: true, payload: { ...payload, segments: encoded } };
        });
      },
      dispose: () => runner.dispose(),
    };
  },
};
export default plugin;

function melSegments(payload: Payload): MelSegment[] {
  const { segments } = payload;
  // Empty when a VAD found no speech: nothing to encode, and the decoder answers an empty transcript.
  if (!Array.isArray(segments)) throw badPayload(STAGE, 'segments', 'an array (run audio/whisper-mel first)');
  for (const [i, s] of (segments as Partial<MelSegment>[]).entries()) {
    if (!(s.mel instanceof Float32Array) || !Number.isInteger(s.frames) || s.frames! < 1 || s.mel.length % s.frames! !== 0) {
      throw badPayload(STAGE, `segments[${i}]`, '{ mel: Float32Array [n_mels, frames], frames }');
    }
  }
  return segments as MelSegment[];
}
