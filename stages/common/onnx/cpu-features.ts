// What the CPU's integer dot products can do, for choosing int8 weight ranges.
// onnxruntime's u8s8 GEMM (MatMulInteger / DynamicQuantizeMatMul, int8 weights) runs on
// x86 without VNNI through vpmaddubsw, which adds two u8·s8 products into a
// saturating int16: with full-range weights (±127) the sums clip (measured here,
// AVX2: 37 % relative error on a random 80-wide product). 7-bit weights (±63)
// cannot overflow it (1.4e-3, as onnxruntime's quantiser's reduce_range).
// VNNI (vpdpbusd, 32-bit sums) and ARM's dot products have no such limit.
import fs from 'node:fs';
import os from 'node:os';

let cached: number | undefined;

/** Largest int8 weight code that is safe for the u8s8 kernels on this CPU: 127, or 63 on x86 without VNNI. */
export function int8WeightLimit(): number {
  if (cached !== undefined) return cached;
  if (os.arch() !== 'x64' && os.arch() !== 'ia32') return (cached = 127);
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    // no /proc (not Linux): assume the older instruction set, which is safe everywhere
  }
  return (cached = /\b(avx512_vnni|avx_vnni)\b/.test(flags) ? 127 : 63);
}
