// Public surface of the stage runtime.
export { createPipeline, type CreatePipelineOptions } from './pipeline.js';
export * from './contracts.js';
export * from './errors.js';
export * from './timeline.js';
export { silentLogger, type Logger, type LogFn } from './logger.js';
export { collectTransferables } from './transfer.js';
