// Read-only routes about the server: GET /health, GET /v1/models, GET /v1/models/:id.
import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../runtime/contracts.js';
import { redactPaths } from './errors.js';
import type { ModelCatalog } from './model-catalog.js';

export interface InfoRoutesOptions {
  pipeline: Pipeline;
  catalog: ModelCatalog;
}

export const HEALTH_PATH = '/health';

export default async function infoRoutes(app: FastifyInstance, { pipeline, catalog }: InfoRoutesOptions): Promise<void> {
  app.get(HEALTH_PATH, async (_request, reply) => {
    const health = pipeline.health();
    if (health.ready) return { status: 'ok' };
    return reply.code(503).send({ status: 'unavailable', reason: redactPaths(health.reason ?? 'pipeline is not ready') });
  });

  app.get('/v1/models', async () => ({ object: 'list', data: catalog.cards() }));

  // Hub ids contain a slash ("Qwen/Qwen3-ASR-1.7B"), hence the wildcard.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => catalog.card(request.params['*']));
}
