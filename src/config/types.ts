// Shapes of a pipeline config after schema validation (defaults filled in).
// Field names follow the YAML (snake_case) so `config explain` prints what was read.

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
}

/** What createPipeline consumes: the validated config plus where each plugin lives. */
export interface ResolvedPipelineConfig {
  /** The YAML file it was read from. */
  file: string;
  config: PipelineConfig;
  /** Stages in graph order, entry first. */
  stages: ResolvedStage[];
}
