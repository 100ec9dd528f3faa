// What the CPU's integer dot products can do, for choosing int8 weight ranges.
// onnxruntime's u8s8 GEMM (MatMulInteger / DynamicQuantizeMatMul, int8 weights) runs on
// x86 without VNNI through vpmaddubsw, which adds two u8·s8 products into a
// saturating int16: with full-range weights (±127) the sums clip (measured here,
// AVX2: 37 % relative error on a random 80-wide product). 7-bit weights (±63)
// cannot overflow it (1.4e-3, as onnxruntime's quantiser's reduce_range).
// VNNI (vpdpbusd, 32-bit sums) and ARM's dot products have no such limit.
// The int8 kernel `auto` (the stages' default) is per-channel where VNNI is: measured
// 1 Dec on a 2-core AVX-512 VNNI EPYC (bench/model.js int8 vs int8+pc, 0.6B, quiet, min of
// 5), per-channel with its int8 conv stem takes 0.50x the encoder's time, 0.56x prefill's,
// 0.94x / 0.86x a decode step's at b=1 / b=8, 0.77x end to end, with errors against the
// golden sets of the same order as blockwise (bench/quant-error.js). Without VNNI its weights lose a bit (±63) and
// it was not measured faster, and on other CPUs it was not measured at all: blockwise there.
import fs from 'node:fs';
import os from 'node:os';
import type { QuantKernel } from '../graph/context.js';

const X86 = os.arch() === 'x64' || os.arch() === 'ia32';
let vnni: boolean | undefined;

/** Whether this is an x86 CPU with VNNI (AVX-512 or AVX), whose int8 dot products sum in 32 bits. */
function x86Vnni(): boolean {
  if (vnni !== undefined) return vnni;
  if (!X86) return (vnni = false);
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // no /proc (not Linux): assume the older instruction set, which is safe everywhere
  }
  return (vnni = /\b(avx512_vnni|avx_vnni)\b/.test(flags));
}

/** Largest int8 weight code that is safe for the u8s8 kernels on this CPU: 127, or 63 on x86 without VNNI. */
export function int8WeightLimit(): number {
  return X86 && !x86Vnni() ? 63 : 127;
}

/**
 * The kernel an `int8_kernel` option names at `precision`: `auto` is per-channel on x86 with VNNI at
 * int8, and at int4 too where `int4Too` (the encoder: per-channel stores its weights in int8, which
 * for the 0.6B encoder's ~185M weights is ~90 MB more than int4, for half the time and about a seventh of the
 * error, README "Performance"); blockwise otherwise.
 */
export function int8Kernel(option: QuantKernel | 'auto', precision: string, int4Too = false): QuantKernel {
  if (option !== 'auto') return option;
  const quantised = precision === 'int8' || (int4Too && precision === 'int4');
  return quantised && x86Vnni() ? 'per-channel' : 'blockwise';
}
