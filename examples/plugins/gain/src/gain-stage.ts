// Stage `example/gain`: payload.samples × options.gain, clipped to [-1, 1].
// It imports only the plugin API of sgl-omni-ts (its package.json "exports").
import { badPayload, type ItemResult, type StagePlugin } from 'sgl-omni-ts/plugin';

const plugin: StagePlugin = {
  name: 'example/gain',
  create(env) {
    const gain = env.options.gain as number;
    return {
      async process(items) {
        return items.map(({ payload }): ItemResult => {
          const { samples } = payload;
          if (!(samples instanceof Float32Array)) {
            // The stage before should have set it (config check refuses such a pipeline): a wiring fault, a 500.
            return { ok: false, error: badPayload('example/gain', 'samples', 'a Float32Array (run audio/resample first)').toInfo() };
          }
          const out = new Float32Array(samples.length);
          for (let i = 0; i < samples.length; i++) out[i] = Math.max(-1, Math.min(1, samples[i] * gain));
          return { ok: true, payload: { ...payload, samples: out } };
        });
      },
    };
  },
};
export default plugin;
