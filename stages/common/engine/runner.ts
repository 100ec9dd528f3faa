// What the shared scheduler needs from a model's decoder runner, and what every
// ONNX model runner is told when it is created. The runner owns the onnxruntime
// session, KV memory and graph I/O; the scheduler decides which sequences run
// when (sglang-omni's Scheduler / ModelRunner line). Runners are used only
// inside worker threads: onnxruntime's run blocks the thread it runs on.
import type { KvCacheType } from '../graph/attention.js';
import type { KvRows } from './kv-store.js';
import type { ConvertProgress, HashProgress } from '../graph/cache.js';
import type { LinearPrecision, QuantKernel } from '../graph/context.js';
import type { SpinPolicy } from '../onnx/session.js';

export type Precision = LinearPrecision;

export interface RunnerOptions {
  /** Folder of the Hugging Face checkpoint. */
  modelPath: string;
  /** Where converted graphs are cached, keyed by checkpoint hash + options. */
  cacheDir: string;
  precision: Precision;
  /** int8/int4 linear kernel (graph/context.ts); 'blockwise' when absent. For a decoder, that of decode steps. */
  quantKernel?: QuantKernel;
  /** 'cpu' or 'cuda:N'. */
  device: string;
  /** onnxruntime intraOpNumThreads. */
  threads: number;
  /** Called while a graph is being converted (only when it is not cached yet). */
  onProgress?: (p: ConvertProgress) => void;
  /** Called while weights are hashed for the cache key (first start, or changed files). */
  onHashProgress?: (p: HashProgress) => void;
}

export interface DecoderRunnerOptions extends RunnerOptions {
  /** Number of concurrent sequences (KV slots). */
  maxSlots: number;
  /** Max tokens per sequence (prompt + generated). */
  maxContext: number;
  /** Kernel of prefill runs when it differs from quantKernel: a second session holds that graph (a second copy of the weights). */
  prefillQuantKernel?: QuantKernel;
  /** Thread spinning of the decoder's sessions (onnx/session.ts SpinPolicy); 'never' when absent. */
  spin?: SpinPolicy;
  /** Element type of the KV cache the decoder graph is built for (half: half the memory per slot); float32 when absent. */
  kvCache?: KvCacheType;
  /** The decoder graph updates a float32 cache in place (GroupQueryAttention); false when absent. */
  kvInPlace?: boolean;
}

export interface DecoderRunner {
  readonly maxSlots: number;
  readonly maxContext: number;
  readonly vocabSize: number;
  /** Appends `ids` to `slot`'s sequence (positions continue after what the slot
   *  holds) and returns the logits of the last position [vocabSize].
   *  `embeds` replaces the embeddings where ids is the model's embedding
   *  placeholder id (audio_pad, image_pad…), in order; pass it only in the call
   *  whose ids contain those tokens. Long prompts may be fed in several calls
   *  (chunked prefill). */
  prefill(slot: number, ids: Int32Array, embeds?: Float32Array): Promise<Float32Array>;
  /** One decode step: appends tokens[i] to slots[i] for every i in one run;
   *  returns logits [slots.length, vocabSize] row-major. */
  decode(slots: number[], tokens: Int32Array): Promise<Float32Array>;
  /** Tokens currently held by a slot. */
  length(slot: number): number;
  /** Frees a slot for a new sequence. */
  release(slot: number): void;
  /** Copies the keys/values of a slot's first `length` positions (prefix reuse, prefix-cache.ts); absent = no reuse. */
  saveKv?(slot: number, length: number): KvRows;
  /** Starts an empty slot with the first `length` positions of a copy saveKv made. */
  loadKv?(slot: number, rows: KvRows, length: number): void;
  dispose(): Promise<void>;
}
