// Shapes of a pipeline config after schema validation (defaults filled in).
// Field names follow the YAML (snake_case) so `config explain` prints what was read.
import type { PluginDescriptor } from './descriptors.js';
import type { ResolvedRoute, RouteConfig } from './routes.js';

export type { ResolvedRoute, RouteConfig } from './routes.js';

export interface StageConfig {
  plugin: string;
  next?: string;
  workers: number;
  threads: number;
  device: string;
  concurrency: number;
  batch: { max_size: number };
  queue: { max: number };
  nice: number;
  max_heap_mb: number;
  options: Record<string, unknown>;
}

export interface PipelineConfig {
  name: string;
  /** The route paths (the file may also name each path's handler: ResolvedPipelineConfig.routes). */
  routes: string[];
  entry: string;
  drain_timeout_s: number;
  admission: { max_running: number; max_waiting: number; retry_after_s: number };
  stages: Record<string, StageConfig>;
}

/** A stage whose plugin was found and whose options passed the plugin's schema. */
export interface ResolvedStage extends StageConfig {
  name: string;
  /** Absolute path of the JavaScript module a worker imports. */
  module: string;
  /** The plugin's descriptor; absent for a bare module named by path (payload unchecked). */
  descriptor?: PluginDescriptor;
  /** It loads the served model: its descriptor's needs_model, evaluated against this config. */
  needsModel: boolean;
}

/** What createPipeline consumes: the validated config plus where each plugin lives. */
export interface ResolvedPipelineConfig {
  /** The YAML file it was read from. */
  file: string;
  config: PipelineConfig;
  /** Stages in graph order, entry first. */
  stages: ResolvedStage[];
  /** Each route with the handler serving it. */
  routes: ResolvedRoute[];
  /** A stage loads the served model (its descriptor's `needs_model` holds): serving needs --model-path. */
  needsModel: boolean;
  /** Per-request fields the stages accept (payload.params), each a JSON schema: what a handler may pass on. */
  request: Record<string, object>;
}

/** The YAML as written before routes are reduced to their paths. */
export type PipelineDocumentValue = Omit<PipelineConfig, 'routes'> & { routes: RouteConfig[] };
