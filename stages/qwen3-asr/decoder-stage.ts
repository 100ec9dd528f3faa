// Stage `qwen3-asr/decoder`: audio embeddings → transcript, with continuous
// batching. The stage runs with `concurrency` > 1, so many requests are inside
// process() at once; each turns its segments into sequences for the one
// BatchScheduler of this worker, which decodes them together in KV slots.
// Consumes segments[i].audio/tokens and params; sets text, language, duration
// and segments (PAYLOADS.md); emits { type: 'delta', delta } when params.stream.
// Publishes the scheduler's counters (DECODER_METRICS) after every request and once a second.
import type { ItemContext, ItemResult, Payload, StagePlugin } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';
import { createDecoderRunner } from './runner/index.js';
import { BatchScheduler, type SchedulerStats } from '../common/engine/batch-scheduler.js';
import { badPayload } from '../common/engine/errors.js';
import { runnerOptions, type ModelStageOptions } from '../common/engine/runner-options.js';
import type { KvCacheType } from '../common/graph/attention.js';
import type { QuantKernel } from '../common/graph/context.js';
import { int8Kernel } from '../common/onnx/cpu-features.js';
import type { SpinPolicy } from '../common/onnx/session.js';
import { readDecodeParams } from './decode/request-params.js';
import { transcribe, type EncodedSegment } from './decode/transcription.js';
import { loadAsrText } from './text/index.js';

const STAGE = 'qwen3-asr/decoder';
/** Options (decoder.plugin.yaml declares them; the pipeline fills in the defaults). */
interface DecoderOptions extends ModelStageOptions {
  int8_kernel: QuantKernel | 'auto';
  prefill_int8_kernel?: QuantKernel;
  spin: SpinPolicy;
  kv_cache: KvCacheType | 'float32-in-place';
  max_running: number;
  max_context: number;
  prefill_chunk: number;
  max_segments_in_flight: number;
  new_tokens_per_s: number;
  min_new_tokens: number;
  loop_max_period: number;
  loop_min_repeats: number;
  loop_min_tokens: number;
  prefix_cache_mb: number;
}
const METRICS_INTERVAL_MS = 1000;

/** Published metric name → scheduler counter (cumulative; waiting/running are current). */
const DECODER_METRICS = {
  generated_tokens: 'generatedTokens',
  decode_steps: 'decodeSteps',
  decode_rows: 'decodeRows',
  decode_ms: 'decodeMs',
  prefill_tokens: 'prefillTokens',
  prefill_calls: 'prefillCalls',
  prefill_ms: 'prefillMs',
  sample_ms: 'sampleMs',
  busy_ms: 'busyMs',
  waiting: 'waiting',
  running: 'running',
  loop_stops: 'loopStops',
  prefix_hits: 'prefixHits',
  prefix_reused_tokens: 'prefixReusedTokens',
  prefix_cache_bytes: 'prefixCacheBytes',
} as const satisfies Record<string, keyof SchedulerStats>;

const plugin: StagePlugin = {
  name: STAGE,
  async create(env) {
    const options = env.options as unknown as DecoderOptions;
    const text = loadAsrText(env.modelPath);
    const runner = await createDecoderRunner({
      ...runnerOptions(env, options.precision),
      quantKernel: int8Kernel(options.int8_kernel, options.precision),
      prefillQuantKernel: options.prefill_int8_kernel,
      spin: options.spin,
      kvCache: options.kv_cache === 'float16' ? 'float16' : 'float32',
      kvInPlace: options.kv_cache === 'float32-in-place',
      maxSlots: options.max_running,
      maxContext: options.max_context,
    });
    const scheduler = new BatchScheduler(runner, {
      eosIds: text.eosIds,
      embedTokenId: text.audioTokenId,
      prefillChunkTokens: options.prefill_chunk,
      loopGuard: { maxPeriod: options.loop_max_period, minRepeats: options.loop_min_repeats, minTokens: options.loop_min_tokens },
      prefixCacheBytes: options.prefix_cache_mb * 1024 * 1024,
    });
    const publish = () => {
      const stats = scheduler.stats();
      env.publishMetrics?.(Object.fromEntries(Object.entries(DECODER_METRICS).map(([name, field]) => [name, stats[field]])));
    };
    const ticker = env.publishMetrics && setInterval(publish, METRICS_INTERVAL_MS).unref();

    const budget = { perS: options.new_tokens_per_s, min: options.min_new_tokens };
    const transcribeItem = async (payload: Payload, ctx: ItemContext): Promise<ItemResult> => {
      try {
        const params = readDecodeParams(payload.params, text.resolveLanguage);
        const { segments, ...rest } = payload;
        const result = await transcribe(scheduler, text.codec, { ...params, segments: encodedSegments(segments), maxSegmentsInFlight: options.max_segments_in_flight, budget }, ctx);
        return { ok: true, payload: { ...rest, ...result } };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err, env.stageName) };
      } finally {
        publish();
      }
    };

    return {
      process: (items) => Promise.all(items.map(({ payload, ctx }) => transcribeItem(payload, ctx))),
      async dispose() {
        clearInterval(ticker);
        await scheduler.close();
        await runner.dispose();
      },
    };
  },
};
export default plugin;

function encodedSegments(value: unknown): EncodedSegment[] {
  // Empty when a VAD found no speech: the transcript is empty, not an error.
  if (!Array.isArray(value)) throw badPayload(STAGE, 'segments', 'an array (run qwen3-asr/encoder first)');
  for (const [i, s] of (value as Partial<EncodedSegment>[]).entries()) {
    const ok = s.audio instanceof Float32Array && Number.isInteger(s.tokens) && s.tokens! > 0 && s.audio.length % s.tokens! === 0 && typeof s.start === 'number' && typeof s.end === 'number';
    if (!ok) throw badPayload(STAGE, `segments[${i}]`, '{ start, end, audio: Float32Array [tokens, hidden], tokens }');
  }
  return value as EncodedSegment[];
}
