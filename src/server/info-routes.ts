// Read-only routes about the server: the probes, GET /v1/models, GET /v1/models/:id.
// Probes, as Kubernetes and load balancers use them (none needs the API key):
// - /livez: the process answers (liveness: restart it only when this fails);
// - /startupz: every pipeline has loaded (a first start may convert graphs for minutes);
// - /readyz: send it requests: loaded, not stopping (the first signal fails it before
//   the drain, shutdown.ts), and its admission has room (a full waiting room would
//   answer 503 at once, so a balancer does better to send the request elsewhere);
// - /health: loaded and not closing, as before /readyz existed.
// With several pipelines each must pass; the models are those of every pipeline.
import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../runtime/contracts.js';
import { redactPaths } from './errors.js';
import type { ModelCatalog } from './model-catalog.js';
import { isDraining } from './shutdown.js';

export interface InfoRoutesOptions {
  pipelines: readonly Pipeline[];
  /** Every served model id (each pipeline's names, merged). */
  catalog: ModelCatalog;
}

export const HEALTH_PATH = '/health';
export const LIVE_PATH = '/livez';
export const READY_PATH = '/readyz';
export const STARTUP_PATH = '/startupz';
/** Paths probes poll: open without the API key, logged at debug. */
export const PROBE_PATHS = [HEALTH_PATH, LIVE_PATH, READY_PATH, STARTUP_PATH];

/** Why the pipelines cannot take work, or undefined when all can. */
function unavailable(pipelines: readonly Pipeline[]): string | undefined {
  const down = pipelines.map((p) => ({ name: p.name, health: p.health() })).filter((p) => !p.health.ready);
  if (down.length === 0) return undefined;
  const named = (p: (typeof down)[number]) => (pipelines.length > 1 ? `${p.name}: ` : '') + (p.health.reason ?? 'pipeline is not ready');
  return redactPaths(down.map(named).join('; '));
}

/** The pipelines whose admission would refuse a new request now (every slot running, waiting room full). */
function saturated(pipelines: readonly Pipeline[]): string | undefined {
  const full = pipelines.filter((p) => {
    const counts = p.admissionCounts?.();
    const limits = p.admissionLimits?.();
    return counts && limits && counts.running >= limits.maxRunning && counts.waiting >= limits.maxWaiting;
  });
  if (full.length === 0) return undefined;
  return `admission is full (${full.map((p) => p.name).join(', ')}): every slot running and the waiting room full`;
}

export default async function infoRoutes(app: FastifyInstance, { pipelines, catalog }: InfoRoutesOptions): Promise<void> {
  const loaded = new Set<Pipeline>();
  const failed = new Map<Pipeline, string>();
  for (const p of pipelines) p.ready().then(() => loaded.add(p), (err: Error) => failed.set(p, redactPaths(err.message)));

  app.get(HEALTH_PATH, async (_request, reply) => {
    const reason = unavailable(pipelines);
    if (reason === undefined) return { status: 'ok' };
    return reply.code(503).send({ status: 'unavailable', reason });
  });

  app.get(LIVE_PATH, async () => ({ status: 'alive' }));

  app.get(STARTUP_PATH, async (_request, reply) => {
    if (loaded.size === pipelines.length) return { status: 'started' };
    const reason = [...failed.values()].join('; ') || 'loading';
    return reply.code(503).send({ status: failed.size > 0 ? 'failed' : 'starting', reason });
  });

  app.get(READY_PATH, async (_request, reply) => {
    if (isDraining(app)) return reply.code(503).send({ status: 'draining', reason: 'shutting down: finishing the requests already sent here' });
    const down = unavailable(pipelines);
    if (down !== undefined) return reply.code(503).send({ status: 'unavailable', reason: down });
    const full = saturated(pipelines);
    if (full !== undefined) return reply.code(503).send({ status: 'saturated', reason: full });
    return { status: 'ready' };
  });

  app.get('/v1/models', async () => ({ object: 'list', data: catalog.cards() }));

  // Hub ids contain a slash ("Qwen/Qwen3-ASR-1.7B"), hence the wildcard.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => catalog.card(request.params['*']));
}
