// Stage `qwen3-forced-aligner/aligner`: transcript text + the 16 kHz audio →
// words [{ word, start, end }] in the original audio's timeline. Every piece of
// every request in one process() batch goes through one Aligner.align call
// (one encoder run, classifier runs of up to max_run_tokens padded tokens).
// Times are the official decode's, plus the piece's offset, clamped to the
// piece (random or mismatched text can predict classes past its end), so they
// never decrease and never leave the audio. In `on_request` mode (transcription
// pipelines) it aligns only requests whose timestamp_granularities include
// "word", and passes the others on untouched. options.model_path is a folder or
// a Hugging Face id, found in (or downloaded to) the standard HF cache by the
// resolver --model-path uses; empty, the aligner is the served model.
import { resolveModelPath } from '../../src/hub/resolve-model.js';
import type { ItemResult, Payload, StageEnv, StagePlugin } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';
import { badPayload, runnerFailed } from '../common/engine/errors.js';
import { runnerOptions, type ModelStageOptions } from '../common/engine/runner-options.js';
import { Aligner } from './aligner.js';
import { alignUnits, AUDIO_FIELD, AUDIO_TIMELINE_FIELD, placeWords } from './decode/units.js';
import type { WordTime } from './decode/timestamps.js';

const STAGE = 'qwen3-forced-aligner/aligner';
/** Options (aligner.plugin.yaml declares them; the pipeline fills in the defaults). */
interface AlignOptions extends ModelStageOptions {
  model_path?: string;
  mode: 'on_request' | 'always';
  max_run_tokens: number;
}
const ERR_ALIGNER_FAILED = 'ERR_ALIGNER_FAILED';

function wantsWords(payload: Payload, mode: string): boolean {
  if (mode === 'always') return true;
  const g = (payload.params as Record<string, unknown> | undefined)?.timestamp_granularities;
  return Array.isArray(g) && g.includes('word');
}

/** The aligner checkpoint folder: options.model_path resolved as --model-path is, or the served model. */
async function checkpointFolder(value: string | undefined, env: StageEnv): Promise<string> {
  if (!value) return env.modelPath;
  let tenth = 0;
  return resolveModelPath(value, {
    label: `stages.${env.stageName}.options.model_path`,
    logger: { info: (fields, msg) => env.log?.('info', msg, fields as Record<string, unknown>) },
    // A worker has no terminal: the download's progress goes to the log, a line per tenth.
    onProgress: (done, total, file) => {
      const reached = total > 0 ? Math.floor((10 * done) / total) : 10;
      if (reached > tenth) env.log?.('info', `downloading ${value}: ${(tenth = reached) * 10}%`, { model: value, file, bytes: done, total });
    },
  });
}

const plugin: StagePlugin = {
  name: STAGE,
  async create(env) {
    const options = env.options as unknown as AlignOptions;
    const aligner = await Aligner.create({
      ...runnerOptions(env, options.precision),
      modelPath: await checkpointFolder(options.model_path, env),
      maxRunTokens: options.max_run_tokens,
    });
    const limits = { maxSeconds: aligner.maxSeconds, segmentMs: aligner.segmentMs };
    const counters = { batches: 0, aligned_requests: 0, aligned_pieces: 0, aligned_words: 0, align_ms: 0 };

    return {
      async process(items): Promise<ItemResult[]> {
        const planned = items.map(({ payload }) => {
          if (!wantsWords(payload, options.mode)) return { skip: true as const };
          try {
            const audio = payload[AUDIO_FIELD];
            if (!(audio instanceof Float32Array)) throw badPayload(STAGE, AUDIO_FIELD, 'a Float32Array of 16 kHz samples (run qwen3-forced-aligner/keep-audio before the front end)');
            return { units: alignUnits(payload, audio, limits) };
          } catch (err) {
            return { error: toErrorInfo(err, env.stageName) };
          }
        });
        const units = planned.flatMap((p) => ('units' in p ? p.units! : []));
        const started = performance.now();
        let aligned: WordTime[][];
        try {
          aligned = (await aligner.align(units)).map((r, i) => placeWords(units[i], r.words));
        } catch (err) {
          const error = toErrorInfo(runnerFailed(ERR_ALIGNER_FAILED, err), env.stageName);
          return planned.map((p) => ({ ok: false, error: 'error' in p ? p.error! : error }));
        } finally {
          counters.batches++;
          counters.align_ms += performance.now() - started;
        }
        let next = 0;
        return items.map(({ payload }, i): ItemResult => {
          const p = planned[i];
          const { [AUDIO_FIELD]: _audio, [AUDIO_TIMELINE_FIELD]: _timeline, ...rest } = payload;
          if ('skip' in p) return { ok: true, payload: rest };
          if ('error' in p) return { ok: false, error: p.error! };
          const words = p.units!.flatMap(() => aligned[next++]);
          counters.aligned_requests++;
          counters.aligned_pieces += p.units!.length;
          counters.aligned_words += words.length;
          env.publishMetrics?.(counters);
          return { ok: true, payload: { ...rest, words } };
        });
      },
      dispose: () => aligner.dispose(),
    };
  },
};
export default plugin;
