// Public surface of pipeline config loading.
export { loadPipelineConfig, explainPipelineConfig, type LoadOptions } from './load.js';
export { ConfigError, type ConfigProblem } from './errors.js';
export { parseOverrideArgs, OverrideArgsError } from './overrides.js';
export type { Override } from './document.js';
export type { PipelineConfig, StageConfig, ResolvedPipelineConfig, ResolvedStage } from './types.js';
