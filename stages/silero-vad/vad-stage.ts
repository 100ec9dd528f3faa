// Stage `silero-vad/vad`: for a request with `chunking_strategy`, the speech regions
// of its 16 kHz samples (seconds, in the original timeline: payload.timeline maps
// them when an earlier stage trimmed the audio) found by Silero VAD; every
// request of a batch runs in the same model calls (model.ts). A request without the
// field passes through untouched (no model call), so the stage can sit in the
// default pipeline at the cost of one hand-over between workers.
import type { ItemResult, Payload, StagePlugin } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';
import { readTimeline, sourceRange, type Timeline } from '../../src/runtime/timeline.js';
import { badPayload, cancelled } from '../common/engine/errors.js';
import { SileroVad, VAD_SAMPLE_RATE, WINDOW, defaultModelPath } from './model.js';
import { normalisingGain } from './loudness.js';
import { readChunkingStrategy, speechRegions, type VadSettings } from './regions.js';

const STAGE = 'silero-vad/vad';
/** Options (vad.plugin.yaml declares them; the pipeline fills in the defaults). */
interface VadOptions {
  model_path?: string;
  lane_s: number;
  warmup_s: number;
  max_batch: number;
}

interface Job {
  index: number;
  samples: Float32Array;
  settings: VadSettings;
  timeline: Timeline | undefined;
}

const plugin: StagePlugin = {
  name: STAGE,
  async create(env) {
    const opts = env.options as unknown as VadOptions;
    const vad = await SileroVad.load(opts.model_path ?? defaultModelPath(), env.device, env.threads);
    const windowsPer = (s: number) => Math.max(1, Math.round((s * VAD_SAMPLE_RATE) / WINDOW));
    const lanes = { laneWindows: windowsPer(opts.lane_s), warmupWindows: Math.round((opts.warmup_s * VAD_SAMPLE_RATE) / WINDOW), maxBatch: opts.max_batch };
    return {
      async process(items) {
        const results: (ItemResult | undefined)[] = items.map(() => undefined);
        const jobs: Job[] = [];
        items.forEach(({ payload }, index) => {
          try {
            const settings = readChunkingStrategy((payload.params as Payload | undefined)?.chunking_strategy);
            if (!settings) return void (results[index] = { ok: true, payload });
            const { samples, sampleRate } = payload;
            if (!(samples instanceof Float32Array) || sampleRate !== VAD_SAMPLE_RATE) throw badPayload(STAGE, 'samples', 'a Float32Array at sampleRate 16000 (run audio/resample first)');
            jobs.push({ index, samples, settings, timeline: readTimeline(payload, STAGE) });
          } catch (err) {
            results[index] = { ok: false, error: toErrorInfo(err, env.stageName) };
          }
        });
        if (jobs.length > 0) {
          const started = performance.now();
          const gains = jobs.map((j) => (j.settings.normalize ? normalisingGain(j.samples, VAD_SAMPLE_RATE) : 1));
          const probs = await vad.probabilities(jobs.map((j) => j.samples), { ...lanes, gains, dropped: (i) => items[jobs[i].index].ctx.cancelled });
          jobs.forEach(({ index, samples, settings, timeline }, j) => {
            const { payload, ctx } = items[index];
            if (ctx.cancelled) return void (results[index] = { ok: false, error: toErrorInfo(cancelled(), env.stageName) });
            const speech = speechRegions(probs[j], samples.length, settings).map((region) => sourceRange(timeline, region));
            results[index] = { ok: true, payload: { ...payload, speech } };
          });
          const audioS = jobs.reduce((sum, j) => sum + j.samples.length, 0) / VAD_SAMPLE_RATE;
          env.log?.('debug', 'vad', { reqIds: jobs.map((j) => items[j.index].ctx.id), audio_s: audioS, gains_db: gains.map((g) => Math.round(20 * Math.log10(g) * 10) / 10), ms: Math.round(performance.now() - started) });
        }
        return results as ItemResult[];
      },
      dispose: () => vad.dispose(),
    };
  },
};
export default plugin;
