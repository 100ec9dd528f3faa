// Handler `openai-transcription`: OpenAI's POST /v1/audio/transcriptions (every
// response format, SSE streaming), with /v1/audio/translations refused. The
// route code is audio-routes.ts, which still mounts its own fixed paths; serving
// it at the path a pipeline declares is part of mounting routes from pipelines.
import audioRoutes from '../audio-routes.js';
import type { RouteHandler } from './types.js';

const handler: RouteHandler = {
  name: 'openai-transcription',
  async mount(app, { pipeline, catalog, metrics, limits }) {
    await app.register(audioRoutes, { pipeline, catalog, metrics, limits });
  },
};
export default handler;
