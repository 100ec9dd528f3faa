// Stage `silero-vad/vad`: for a request with `chunking_strategy`, the speech regions
// of its 16 kHz samples (seconds, original timeline) found by Silero VAD; every
// request of a batch runs in the same model calls (model.ts). A request without the
// field passes through untouched (no model call), so the stage can sit in the
// default pipeline at the cost of one hand-over between workers.
import type { ItemResult, Payload, StagePlugin } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';
import { badPayload, cancelled } from '../common/engine/errors.js';
import { SileroVad, VAD_SAMPLE_RATE, WINDOW, defaultModelPath } from './model.js';
import { readChunkingStrategy, speechRegions, type VadSettings } from './regions.js';

const STAGE = 'silero-vad/vad';
const DEFAULTS = { model_path: '', lane_s: 30, warmup_s: 1, max_batch: 16 };

interface Job {
  index: number;
  samples: Float32Array;
  settings: VadSettings;
}

const plugin: StagePlugin = {
  name: STAGE,
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      model_path: { type: 'string', default: DEFAULTS.model_path },
      lane_s: { type: 'number', minimum: 1, default: DEFAULTS.lane_s },
      warmup_s: { type: 'number', minimum: 0, maximum: 10, default: DEFAULTS.warmup_s },
      max_batch: { type: 'integer', minimum: 1, maximum: 256, default: DEFAULTS.max_batch },
    },
  },
  async create(env) {
    const opts = { ...DEFAULTS, ...env.options } as typeof DEFAULTS;
    const vad = await SileroVad.load(opts.model_path || defaultModelPath(), env.device, env.threads);
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
            jobs.push({ index, samples, settings });
          } catch (err) {
            results[index] = { ok: false, error: toErrorInfo(err, env.stageName) };
          }
        });
        if (jobs.length > 0) {
          const started = performance.now();
          const probs = await vad.probabilities(jobs.map((j) => j.samples), { ...lanes, dropped: (i) => items[jobs[i].index].ctx.cancelled });
          jobs.forEach(({ index, samples, settings }, j) => {
            const { payload, ctx } = items[index];
            if (ctx.cancelled) return void (results[index] = { ok: false, error: toErrorInfo(cancelled(), env.stageName) });
            results[index] = { ok: true, payload: { ...payload, speech: speechRegions(probs[j], samples.length, settings) } };
          });
          const audioS = jobs.reduce((sum, j) => sum + j.samples.length, 0) / VAD_SAMPLE_RATE;
          env.log?.('debug', 'vad', { requests: jobs.length, audio_s: audioS, ms: Math.round(performance.now() - started) });
        }
        return results as ItemResult[];
      },
      dispose: () => vad.dispose(),
    };
  },
};
export default plugin;
