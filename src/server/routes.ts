// Mounts the routes the served pipelines declare (Pipeline.routes): each route's
// handler module is imported and mounts itself at the declared path. A path may be
// declared once across all pipelines and never shadow the server's own routes;
// a route nobody declared is simply absent (404).
import { pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Pipeline, PipelineRoute } from '../runtime/contracts.js';
import type { RouteHandler } from './handlers/types.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelCatalog } from './model-catalog.js';
import type { UploadLimits } from './upload-form.js';

export interface MountedPipeline {
  pipeline: Pipeline;
  /** The model ids this pipeline's routes answer to. */
  catalog: ModelCatalog;
}

export interface MountOptions {
  metrics: ServerMetrics;
  limits: UploadLimits;
  /** Paths the server itself serves. */
  reserved: string[];
}

/** The handler module's default export, checked to be the handler the route names. */
export async function importHandler(route: PipelineRoute): Promise<RouteHandler> {
  const mod = (await import(pathToFileURL(route.module).href)) as { default?: Partial<RouteHandler> };
  const handler = mod.default;
  if (!handler || typeof handler.mount !== 'function' || handler.name !== route.handler) {
    throw new Error(`handler module ${route.module} must export default { name: '${route.handler}', mount(app, route) }`);
  }
  return handler as RouteHandler;
}

/** Throws naming both pipelines when two declare one path, or a pipeline declares a reserved one. */
function checkPaths(served: MountedPipeline[], reserved: string[]): void {
  const owner = new Map<string, string>(reserved.map((p) => [p, 'the server itself']));
  for (const { pipeline } of served) {
    for (const { path } of pipeline.routes) {
      const other = owner.get(path);
      if (other) throw new Error(`route ${path} of pipeline ${pipeline.name} is already served by ${other === 'the server itself' ? other : `pipeline ${other}`}`);
      owner.set(path, pipeline.name);
    }
  }
}

export async function mountPipelineRoutes(app: FastifyInstance, served: MountedPipeline[], { metrics, limits, reserved }: MountOptions): Promise<void> {
  checkPaths(served, reserved);
  for (const { pipeline, catalog } of served) {
    for (const route of pipeline.routes) {
      const handler = await importHandler(route);
      await handler.mount(app, { path: route.path, pipeline, catalog, metrics, limits });
    }
  }
}
