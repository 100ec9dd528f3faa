// Command-line parsing shared by the bench/ scripts: node:util's parseArgs plus
// the two things every script needs and parseArgs leaves out. --help (or -h)
// prints the usage and exits 0 before any work starts (a dataset build or an
// hour of load must not begin because someone asked how to run it); a bad
// flag prints its error and the usage, exit 2, instead of a stack trace. Also
// `key=value` pipeline overrides, the cache folder every bench writes to (outside the repository), and the
// precision-and-kernel names (`int8+pc`) the model benches take.
import os from 'node:os';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Override } from '../src/config/document.js';
import type { Precision } from '../stages/common/engine/runner.js';
import type { KvCacheType } from '../stages/common/graph/attention.js';
import type { QuantKernel } from '../stages/common/graph/context.js';
import type { SpinPolicy } from '../stages/common/onnx/session.js';

export const EXIT_USAGE = 2;

export function parseScriptArgs<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const withHelp = { ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    process.exit(EXIT_USAGE);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

/**
 * `key=value` arguments as pipeline overrides (`stages.decoder.options.max_running=8`), split at
 * the first '=' so a value may hold one; an argument without a key and '=' is a usage error (exit 2).
 */
export function pipelineOverrides(usage: string, args: string[]): Override[] {
  return args.map((arg) => {
    const at = arg.indexOf('=');
    if (at <= 0) {
      process.stderr.write(`'${arg}' is not a pipeline override (key=value)\n${usage}\n`);
      process.exit(EXIT_USAGE);
    }
    return [arg.slice(0, at), arg.slice(at + 1)];
  });
}

/**
 * Where benches keep generated checkpoints and converted graphs: outside the repository (a 0.6B
 * checkpoint plus its graphs in three precisions is ~8 GB, and a run once left 7.9 GB in ./.cache).
 * --cache-dir wins, then SGL_OMNI_BENCH_CACHE, then $XDG_CACHE_HOME/sgl-omni/bench (~/.cache/...).
 * Each bench prints the folder it uses.
 */
export function benchCacheDir(flag?: string): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.resolve(flag ?? process.env.SGL_OMNI_BENCH_CACHE ?? path.join(base, 'sgl-omni', 'bench'));
}

/** A precision with its int8 kernels, as the benches name it. */
export interface Variant {
  label: string;
  precision: Precision;
  /** Decoder thread spinning (common/onnx/session.ts). */
  spin: SpinPolicy;
  /** Encoder, decode-step and prefill kernels (common/graph/context.ts QuantKernel). */
  kernels: { encoder?: QuantKernel; decode?: QuantKernel; prefill?: QuantKernel };
  /** Element type of the decoder's KV cache (common/graph/attention.ts). */
  kvCache: KvCacheType;
  /** The decoder updates its cache in place (GroupQueryAttention; qwen3-asr/graph/decoder.ts DecoderCache). */
  kvInPlace: boolean;
}

/**
 * `fp32`, `int8`, `int4`: blockwise kernels (MatMulNBits). `int8+pc`: the per-channel int8 kernel
 * (MatMulInteger, activations per row) in the encoder, prefill and decode steps. `int4+pc-prefill` (any
 * quantised precision): per-channel in the encoder and prefill, the precision's blockwise kernel
 * for decode steps (two decoder sessions). `+kv16`: a float16 KV cache; `+gqa`: a float32 cache the
 * graph updates in place (GroupQueryAttention). A trailing `+spin`: decoder threads spin during runs.
 */
export function parseVariant(spec: string): Variant {
  const m = /^(fp32|fp16|int8|int4)(?:\+(pc|pc-prefill))?(\+kv16|\+gqa)?(\+spin)?$/.exec(spec);
  if (!m) throw new Error(`unknown precision "${spec}": use fp32, int8, int4, or int8/int4 with +pc or +pc-prefill, then optionally +kv16 or +gqa, then +spin`);
  const precision = m[1] as Precision;
  if (m[2] && precision !== 'int8' && precision !== 'int4') throw new Error(`${spec}: the per-channel kernel is for int8 and int4`);
  const pc = 'per-channel' as const;
  const kernels = m[2] === 'pc' ? { encoder: pc, decode: pc, prefill: pc } : m[2] === 'pc-prefill' ? { encoder: pc, prefill: pc } : {};
  return { label: spec, precision, kernels, kvCache: m[3] === '+kv16' ? 'float16' : 'float32', kvInPlace: m[3] === '+gqa', spin: m[4] ? 'during-runs' : 'never' };
}
