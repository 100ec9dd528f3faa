// The contract of an API handler module: it mounts one route that maps requests
// onto a pipeline's entry payload and its final payload onto the answer. Which
// handler serves which path is the pipeline YAML's `routes:`; what a handler
// submits and reads is its *.handler.yaml descriptor, checked at config load.
import type { FastifyInstance } from 'fastify';
import type { Pipeline } from '../../runtime/contracts.js';
import type { ServerMetrics } from '../metrics.js';
import type { ModelCatalog } from '../model-catalog.js';
import type { UploadLimits } from '../upload-form.js';

/** What the server hands a handler for one route of one pipeline. */
export interface RouteContext {
  /** The path the pipeline declared, e.g. /v1/audio/features. */
  path: string;
  pipeline: Pipeline;
  catalog: ModelCatalog;
  metrics: ServerMetrics;
  limits: UploadLimits;
}

/** The default export of a handler module. */
export interface RouteHandler {
  /** Equal to its descriptor's name. */
  name: string;
  mount(app: FastifyInstance, route: RouteContext): void | Promise<void>;
}
