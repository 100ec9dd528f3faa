// The HTTP server in front of one or more pipelines. buildServer wires the
// plugins in order: error shape first (covers everything), then auth, metrics,
// the info routes, and each route the pipelines declare, mounted by its handler
// module (routes.ts). A path no pipeline declares is 404.
import multipart from '@fastify/multipart';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Pipeline } from '../runtime/contracts.js';
import bearerAuth from './auth.js';
import bodyLimit from './body-limit.js';
import connectionGuard from './connection-guard.js';
import errorHandling, { writeClientError, writeFrameworkError } from './error-handling.js';
import infoRoutes, { PROBE_PATHS } from './info-routes.js';
import metricsPlugin, { METRICS_PATH, ServerMetrics } from './metrics.js';
import { ModelCatalog } from './model-catalog.js';
import clientLeftLog, { RequestIds, RequestLogController } from './request-log.js';
import { mountPipelineRoutes } from './routes.js';
import gracefulShutdown from './shutdown.js';

/** One pipeline and the model ids its routes answer to. */
export interface ServedPipeline {
  pipeline: Pipeline;
  /** Model ids clients may send; the first is canonical, the rest are aliases. */
  servedModelNames: string[];
}

export interface BuildServerOptions {
  /** The pipelines to serve: several here, or one as `pipeline` with its `servedModelNames`. */
  pipelines?: ServedPipeline[];
  pipeline?: Pipeline;
  servedModelNames?: string[];
  /** When set, every route but the probes (/health, /livez, /readyz, /startupz) needs "Authorization: Bearer <apiKey>". */
  apiKey?: string;
  /** Largest uploaded file (default 25 MiB, OpenAI's limit for audio). */
  maxUploadBytes?: number;
  /** Time allowed to receive a whole request, upload included (default 300 s). */
  requestTimeoutMs?: number;
  /** Time a connection may stay silent while the server waits on its client: a body or head that stops
   *  arriving gets 408, an answer the client stops reading is dropped (default 30 s; connection-guard.ts). */
  idleTimeoutMs?: number;
  /** Time a kept-alive connection may wait for its next request (default 72 s, fastify's: longer than
   *  the 60 s idle timeout of common balancers, so the balancer, not the server, closes first). */
  keepAliveTimeoutMs?: number;
  /** false/true, fastify logger options, or a ready pino logger. */
  logger?: boolean | FastifyServerOptions['logger'] | FastifyBaseLogger;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 25 * 2 ** 20;
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;
const MAX_FIELD_BYTES = 256 * 1024;
const MAX_FIELDS = 64;
/** What a form may add to its file: boundaries, part headers and the text fields (a prompt is a few KiB). */
const MAX_FORM_OVERHEAD_BYTES = 2 ** 20;
const CLOSING_RETRY_AFTER_S = 5;
/** Node checks request timeouts every 30 s by default; short timeouts need a finer check to mean anything. */
const MAX_TIMEOUT_CHECK_INTERVAL_MS = 30_000;

const isLoggerInstance = (logger: unknown): logger is FastifyBaseLogger =>
  typeof logger === 'object' && logger !== null && typeof (logger as { child?: unknown }).child === 'function';

function loggerOptions(logger: BuildServerOptions['logger']): Pick<FastifyServerOptions, 'logger' | 'loggerInstance'> {
  if (isLoggerInstance(logger)) return { loggerInstance: logger };
  return { logger: (logger as FastifyServerOptions['logger']) ?? false };
}

export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const maxUploadBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const served = opts.pipelines ?? (opts.pipeline ? [{ pipeline: opts.pipeline, servedModelNames: opts.servedModelNames ?? [] }] : []);
  if (served.length === 0 || (opts.pipelines && opts.pipeline)) throw new Error('buildServer needs `pipelines`, or one `pipeline` with its `servedModelNames`');
  const catalogs = served.map((s) => new ModelCatalog(s.servedModelNames));
  const pipelines = served.map((s) => s.pipeline);
  const metrics = new ServerMetrics(pipelines);
  const requestLog = new RequestLogController([...PROBE_PATHS, METRICS_PATH]);
  const requestIds = new RequestIds();

  const app = Fastify({
    ...loggerOptions(opts.logger),
    requestTimeout,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(60_000, requestTimeout),
      connectionsCheckingInterval: Math.min(MAX_TIMEOUT_CHECK_INTERVAL_MS, Math.max(10, Math.floor(requestTimeout / 4))),
    },
    clientErrorHandler: writeClientError,
    frameworkErrors: writeFrameworkError,
    // shutdown.ts answers requests during close itself, in the OpenAI error shape.
    return503OnClosing: false,
    // X-Request-Id: the client's when sane and not in flight, else a UUID (request-log.ts).
    requestIdHeader: false,
    genReqId: requestIds.generate,
    // One line per request instead of fastify's two; probes at debug.
    logController: requestLog,
  }) as unknown as FastifyInstance;

  app.addHook('onRequest', requestIds.onRequest);
  await app.register(errorHandling);
  await app.register(clientLeftLog, { controller: requestLog });
  await app.register(gracefulShutdown, { retryAfterS: CLOSING_RETRY_AFTER_S });
  await app.register(connectionGuard, { idleTimeoutMs: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS });
  await app.register(bodyLimit, { maxBodyBytes: maxUploadBytes + MAX_FORM_OVERHEAD_BYTES });
  if (opts.apiKey !== undefined) await app.register(bearerAuth, { apiKey: opts.apiKey, exemptPaths: PROBE_PATHS });
  await app.register(metricsPlugin, { metrics });
  await app.register(multipart);
  await app.register(infoRoutes, { pipelines, catalog: new ModelCatalog(served.flatMap((s) => s.servedModelNames)) });
  const limits = { maxFileBytes: maxUploadBytes, maxFieldBytes: MAX_FIELD_BYTES, maxFields: MAX_FIELDS };
  await mountPipelineRoutes(app, served.map((s, i) => ({ pipeline: s.pipeline, catalog: catalogs[i] })), { metrics, limits, reserved: [...PROBE_PATHS, METRICS_PATH, '/v1/models'] });
  return app;
}
