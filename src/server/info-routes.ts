// Read-only routes about the server: GET /health, GET /v1/models, GET /v1/models/:id.
// With several pipelines, health is ok only when every one is ready, and the
// models are those of every pipeline.
import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../runtime/contracts.js';
import { redactPaths } from './errors.js';
import type { ModelCatalog } from './model-catalog.js';

export interface InfoRoutesOptions {
  pipelines: readonly Pipeline[];
  /** Every served model id (each pipeline's names, merged). */
  catalog: ModelCatalog;
}

export const HEALTH_PATH = '/health';

export default async function infoRoutes(app: FastifyInstance, { pipelines, catalog }: InfoRoutesOptions): Promise<void> {
  app.get(HEALTH_PATH, async (_request, reply) => {
    const down = pipelines.map((p) => ({ name: p.name, health: p.health() })).filter((p) => !p.health.ready);
    if (down.length === 0) return { status: 'ok' };
    const named = (p: (typeof down)[number]) => (pipelines.length > 1 ? `${p.name}: ` : '') + (p.health.reason ?? 'pipeline is not ready');
    return reply.code(503).send({ status: 'unavailable', reason: redactPaths(down.map(named).join('; ')) });
  });

  app.get('/v1/models', async () => ({ object: 'list', data: catalog.cards() }));

  // Hub ids contain a slash ("Qwen/Qwen3-ASR-1.7B"), hence the wildcard.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => catalog.card(request.params['*']));
}
