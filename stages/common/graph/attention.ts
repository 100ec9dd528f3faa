// Attention blocks.
//
// Encoder: bidirectional multi-head attention within windows over packed rows:
// the projections run on the real rows only, which are gathered into padded
// windows just for onnxruntime's fused MultiHeadAttention (key padding mask) and
// read back after it.
//
// Decoder: causal grouped-query attention over a KV cache the host owns, in one
// of two layouts. Host-stored: the graph reads views (or narrow copies) of the cache
// rows [n, kvHeads, stride, headDim], masks positions at or beyond each row's length,
// and returns only the new keys/values, which the host writes into its cache
// (a float32 or float16 cache: half precision halves the memory per slot; its
// views are cast to float32 in the graph, the new keys/values leave as float16).
// In place: onnxruntime's GroupQueryAttention with past and present sharing one
// buffer does rotary, attention and the cache update in one kernel per layer;
// onnxruntime-node writes a preallocated output into the JS buffer bound to it
// (checked in 1.30: a Transpose bound to its own input comes back scrambled), so
// the host binds present to the very views it feeds and nothing is copied back.
// A present output the host does not bind would instead copy the whole cache
// every step (~120 ms per layer measured at 4096 positions).
import type { DataType, Dim, GraphBuilder } from '../onnx/graph-builder.js';
import type { BlockContext } from './context.js';
import { fusedLinear, linear, type LinearSpec } from './linear.js';

export interface SelfAttentionSpec { q: LinearSpec; k: LinearSpec; v: LinearSpec; out: LinearSpec }

/** Where packed rows sit in attention windows (graph inputs). */
export interface PackedWindows {
  /** [Wn, L] int64: packed row of each window slot (any valid row in padding slots). */
  index: string;
  /** [Wn, L] int32: 1 for real tokens. */
  mask: string;
  /** [N] int64: slot of [Wn·L] holding each packed row. */
  slots: string;
}

/** x [N, D] packed rows; attention within windows `w`. Scale is 1/sqrt(head_dim). Returns [N, D]. */
export function windowedSelfAttention(ctx: BlockContext, x: string, w: PackedWindows, spec: SelfAttentionSpec, heads: number, name: string): string {
  const { g } = ctx;
  const toWindows = (t: string) => g.op1('Gather', [t, w.index], { axis: 0 });
  const [q, k, v] = fusedLinear(ctx, x, [spec.q, spec.k, spec.v], `${name}.qkv`).map(toWindows);
  const attn = g.op1('MultiHeadAttention', [q, k, v, '', w.mask], { num_heads: heads }, { domain: 'com.microsoft' });
  const rows = g.op1('Gather', [g.op1('Flatten', [attn], { axis: 2 }), w.slots], { axis: 0 });
  return linear(ctx, rows, spec.out, `${name}.out`);
}

/** Element type of a host-owned KV cache. */
export type KvCacheType = 'float32' | 'float16';

const CAST_TO: Record<KvCacheType, number> = { float32: 1, float16: 10 };

/** A cache view input [n, kvHeads, stride, headDim] of type `t`, as float32. */
export function cacheInput(g: GraphBuilder, name: string, t: KvCacheType, shape: Dim[]): string {
  g.input(name, t as DataType, shape);
  return t === 'float32' ? name : g.op1('Cast', [name], { to: CAST_TO.float32 });
}

/**
 * Makes float32 `value` the graph output `name` of type `t` (renamed, or cast: no Identity kernel);
 * returns the float32 value's name from now on.
 */
export function cacheOutput(g: GraphBuilder, value: string, name: string, t: KvCacheType, shape: Dim[]): string {
  g.output(name, t, shape);
  if (t === 'float32') return g.rename(value, name);
  g.op1('Cast', [value], { to: CAST_TO[t] }, { output: name });
  return value;
}

export interface CachedAttentionInputs {
  /** Rotated queries [n, heads, S, headDim]. */
  q: string;
  /** Rotated keys and values of the new tokens [n, kvHeads, S, headDim] (what the host stores). */
  k: string;
  v: string;
  /** Cache views [n, kvHeads, stride, headDim] as float32 (cacheInput); row b holds past[b] valid positions. */
  pastK: string;
  pastV: string;
  /** Additive mask and past length from causalCacheMask(). */
  mask: CausalCacheMask;
  heads: number;
  kvHeads: number;
  headDim: number;
}

export interface CausalCacheMask {
  /** [1] int64: positions per cache row (the stride). */
  stride: string;
  /** [n, 1, groups*S, stride+S] float: 0 where attended, -1e30 elsewhere. */
  additive: string;
}

/**
 * Mask for new tokens at positions past[b]..past[b]+S-1 of row b: cache key j
 * is visible when j < past[b]; new key t when t <= s. Rows of the query matrix
 * are laid out (group, s), hence the tiling by `groups`. `pastK` only lends
 * its shape (the stride).
 */
export function causalCacheMask(g: GraphBuilder, pastLen: string, seqLen: string, pastK: string, groups: number): CausalCacheMask {
  const stride = g.op1('Slice', [g.op1('Shape', [pastK]), g.constI64([2]), g.constI64([3])]);
  const zero = g.constI64(0);
  const one = g.constI64(1);
  const keys = g.op1('Range', [zero, g.op1('Add', [g.op1('Squeeze', [stride]), seqLen]), one]);
  const jj = g.op1('Reshape', [keys, g.constI64([1, 1, 1, -1])]);
  const ss = g.op1('Reshape', [g.op1('Range', [zero, seqLen, one]), g.constI64([1, 1, -1, 1])]);
  const lens = g.op1('Reshape', [pastLen, g.constI64([-1, 1, 1, 1])]);
  const inPast = g.op1('Less', [jj, lens]);
  const t = g.op1('Sub', [jj, stride]);
  const inNew = g.op1('And', [g.op1('GreaterOrEqual', [t, zero]), g.op1('LessOrEqual', [t, ss])]);
  const visible = g.op1('Or', [inPast, inNew]);
  const additive = g.op1('Where', [visible, g.constF(0), g.constF(-1e30)]);
  return { stride, additive: g.op1('Tile', [additive, g.constI64([1, 1, groups, 1])]) };
}

/**
 * [n, heads, S, hd] → [n, kvHeads, groups*S, hd]: one query matrix per KV head, rows (group, s).
 * A pure reshape, since query head h reads KV head floor(h / groups).
 */
function groupQueries(g: GraphBuilder, q: string, kvHeads: number, hd: number): string {
  return g.op1('Reshape', [q, g.constI64([0, kvHeads, -1, hd])]);
}

/** [n, kvHeads, groups*S, hd] → [n, S, heads*hd]. */
function mergeHeads(g: GraphBuilder, o: string, heads: number, hd: number): string {
  const bnsh = g.op1('Reshape', [o, g.constI64([0, heads, -1, hd])]);
  return g.op1('Reshape', [g.op1('Transpose', [bnsh], { perm: [0, 2, 1, 3] }), g.constI64([0, 0, -1])]);
}

/** q·kᵀ / sqrt(hd) in one kernel. */
function scaledScores(g: GraphBuilder, q: string, k: string, hd: number): string {
  return g.op1('FusedMatMul', [q, k], { transB: 1, alpha: { float: 1 / Math.sqrt(hd) } }, { domain: 'com.microsoft' });
}

/**
 * Attention of the new tokens over the cache rows and themselves; returns [n, S, heads*headDim].
 * The cache is never concatenated with the new keys (that would copy it every step): scores
 * are computed against each part and joined, and the probabilities split again.
 */
export function cachedAttention(g: GraphBuilder, a: CachedAttentionInputs): string {
  const q4 = groupQueries(g, a.q, a.kvHeads, a.headDim);
  const axis3 = g.constI64([3]);
  const scores = g.op1('Concat', [scaledScores(g, q4, a.pastK, a.headDim), scaledScores(g, q4, a.k, a.headDim)], { axis: 3 });
  const probs = g.op1('Softmax', [g.op1('Add', [scores, a.mask.additive])], { axis: -1 });
  const pPast = g.op1('Slice', [probs, g.constI64([0]), a.mask.stride, axis3]);
  const pNew = g.op1('Slice', [probs, a.mask.stride, g.constI64([2 ** 62]), axis3]);
  const o4 = g.op1('Add', [g.op1('MatMul', [pPast, a.pastV]), g.op1('MatMul', [pNew, a.v])]);
  return mergeHeads(g, o4, a.heads, a.headDim);
}

export interface InPlaceAttentionInputs {
  /** Normed, not yet rotated queries [n, S, heads*headDim], keys and values [n, S, kvHeads*headDim]. */
  q: string;
  k: string;
  v: string;
  /** Cache inputs [n, kvHeads, stride, headDim] (float32) and the outputs bound to the same buffers. */
  pastK: string;
  pastV: string;
  presentK: string;
  presentV: string;
  /** From inPlaceLengths(). */
  lengths: InPlaceLengths;
  /** Rotary tables (rotary.ts), applied inside the kernel at each row's positions. */
  cos: string;
  sin: string;
  heads: number;
  kvHeads: number;
}

export interface InPlaceLengths { seqlensK: string; total: string }

/** GroupQueryAttention's lengths: per row its last position (past + S - 1, int32), and the longest total. */
export function inPlaceLengths(g: GraphBuilder, pastLen: string, seqLen: string): InPlaceLengths {
  const ends = g.op1('Add', [pastLen, seqLen]);
  return {
    seqlensK: g.op1('Cast', [g.op1('Sub', [ends, g.constI64(1)])], { to: 6 }),
    total: g.op1('Cast', [g.op1('ReduceMax', [ends], { keepdims: 0 })], { to: 6 }),
  };
}

/**
 * Causal grouped-query attention, rotary and cache update in one onnxruntime kernel
 * (GroupQueryAttention with the past and present buffers shared): the host binds each layer's
 * present outputs to its past inputs (onnxruntime-node writes bound outputs in place), and the
 * kernel stores the new keys/values at positions past[b].. of row b itself, so nothing is copied
 * back. Every row of the run gets its token written, rows the host leaves out of a step too: the
 * host keeps a free position after each row (engine/kv-store.ts, writesInPlace). Returns
 * [n, S, heads*headDim].
 */
export function inPlaceAttention(g: GraphBuilder, a: InPlaceAttentionInputs): string {
  const inputs = [a.q, a.k, a.v, a.pastK, a.pastV, a.lengths.seqlensK, a.lengths.total, a.cos, a.sin];
  return g.op('GroupQueryAttention', inputs, { num_heads: a.heads, kv_num_heads: a.kvHeads, do_rotary: 1, rotary_interleaved: 0 },
    { domain: 'com.microsoft', outputs: [g.fresh('gqa'), a.presentK, a.presentV] })[0];
}

/**
 * Causal grouped-query attention over one whole sequence per row, no cache (a model that
 * classifies every position in one pass, e.g. the forced aligner). q [n, heads, S, headDim],
 * k/v [n, kvHeads, S, headDim], q and k rotated; rows padded on the right need no key mask,
 * since a real position never sees a later one. Returns [n, S, heads*headDim].
 */
export function causalAttention(g: GraphBuilder, a: { q: string; k: string; v: string; heads: number; kvHeads: number; headDim: number }): string {
  const groups = a.heads / a.kvHeads;
  const seq = g.op1('Slice', [g.op1('Shape', [a.q]), g.constI64([2]), g.constI64([3])]);
  const range = g.op1('Range', [g.constI64(0), g.op1('Squeeze', [seq]), g.constI64(1)]);
  const visible = g.op1('LessOrEqual', [g.op1('Unsqueeze', [range, g.constI64([0])]), g.op1('Unsqueeze', [range, g.constI64([1])])]);
  const additive = g.op1('Tile', [g.op1('Where', [visible, g.constF(0), g.constF(-1e30)]), g.constI64([groups, 1])]);
  const scores = scaledScores(g, groupQueries(g, a.q, a.kvHeads, a.headDim), a.k, a.headDim);
  const probs = g.op1('Softmax', [g.op1('Add', [scores, additive])], { axis: -1 });
  return mergeHeads(g, g.op1('MatMul', [probs, a.v]), a.heads, a.headDim);
}
