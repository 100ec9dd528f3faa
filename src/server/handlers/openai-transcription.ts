// Handler `openai-transcription`: OpenAI's POST /v1/audio/transcriptions (every
// response format, SSE streaming) at the path the pipeline declares; the route
// code is openai-audio/audio-routes.ts (request fields, response formats, SSE, metrics beside it).
import audioRoutes from './openai-audio/audio-routes.js';
import type { RouteHandler } from './types.js';

const handler: RouteHandler = {
  name: 'openai-transcription',
  async mount(app, route) {
    await app.register(audioRoutes, route);
  },
};
export default handler;
