// The API a stage plugin codes against, exported as `sgl-omni-ts/plugin` (with
// type declarations from tsconfig.plugin.json) so a plugin package never imports
// this project's files by relative path. docs/PLUGINS.md shows it in use.
export { ERROR_KINDS, StageError } from './contracts.js';
export { badPayload, ERR_BAD_PAYLOAD, ERR_CANCELLED, toErrorInfo } from './errors.js';
export { keepSpans, mediaTime, readTimeline, sourceRange, sourceTime, TIMELINE_FIELD } from './timeline.js';
export type { Timeline, TimelinePiece, TimeSpan } from './timeline.js';
export type {
  ErrorKind,
  ItemContext,
  ItemResult,
  Payload,
  StageEnv,
  StageErrorInfo,
  StageInstance,
  StageLogLevel,
  StageMetrics,
  StagePlugin,
} from './contracts.js';
