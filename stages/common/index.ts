// The shared serving engine, exported as `sgl-omni-ts/engine` (type declarations
// from tsconfig.plugin.json) for model plugins in or out of the tree; nothing here
// knows a model. docs/PLUGINS.md ("A model plugin on the shared engine") shows how
// the parts fit: a model supplies its graphs (built from its checkpoint with the
// graph blocks, cached by ensureCachedGraph), a DecoderRunner over them (KvStore
// holds the cache), and a SegmentModel; runSegments decodes a request's segments
// on the BatchScheduler with every other request's.

// Continuous batching and decoding (worker-side, per stage instance).
export * from './engine/batch-scheduler.js';
export * from './engine/encode-cache.js';
export * from './engine/errors.js';
export * from './engine/kv-slot-pool.js';
export * from './engine/kv-store.js';
export * from './engine/ordered-deltas.js';
export * from './engine/prng.js';
export * from './engine/runner-options.js';
export * from './engine/runner.js';
export * from './engine/sampler.js';
export * from './engine/segments.js';
export * from './engine/sequence.js';
// onnxruntime sessions and ONNX graph construction.
export * from './onnx/session.js';
export * from './onnx/graph-builder.js';
export * from './graph/attention.js';
export * from './graph/cache.js';
export * from './graph/context.js';
export * from './graph/conv.js';
export * from './graph/linear.js';
export * from './graph/mlp.js';
export * from './graph/norms.js';
export * from './graph/quantize.js';
export * from './graph/rotary.js';
// Checkpoint weights.
export * from './weights/digest.js';
export * from './weights/safetensors.js';
