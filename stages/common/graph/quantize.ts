// Weight quantisation for onnxruntime's quantised matmuls.
// MatMulNBits layout: for a weight W [N, K] (rows are output features), each row
// is cut into blocks of `blockSize` along K; each block stores uint codes, one
// float scale and one zero point (asymmetric, min/max). Codes of 4-bit blocks
// pack two per byte, the lower index in the low nibble.
// Per-channel int8 (linear.ts's MatMulInteger kernel): Wᵀ [K, N] as int8, symmetric, one scale per
// output channel (column of Wᵀ), zero point 0, codes within ±limit (127, or 63
// where the CPU's u8s8 kernel saturates: onnx/cpu-features.ts).

export interface NBitsWeight {
  /** uint8 [N, blocksPerRow, blockSize * bits / 8] */
  packed: Uint8Array;
  /** float32 [N * blocksPerRow] */
  scales: Float32Array;
  /** uint8 [N * ceil(blocksPerRow * bits / 8)] */
  zeroPoints: Uint8Array;
  blocksPerRow: number;
}

export function quantizeNBits(w: Float32Array, n: number, k: number, bits: 4 | 8, blockSize: number): NBitsWeight {
  const blocksPerRow = Math.ceil(k / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const zpRowBytes = Math.ceil((blocksPerRow * bits) / 8);
  const maxCode = (1 << bits) - 1;
  const packed = new Uint8Array(n * blocksPerRow * blobBytes);
  const scales = new Float32Array(n * blocksPerRow);
  const zeroPoints = new Uint8Array(n * zpRowBytes);
  const codes = new Uint8Array(blockSize);
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < blocksPerRow; blk++) {
      const start = row * k + blk * blockSize;
      const len = Math.min(blockSize, k - blk * blockSize);
      // The range always includes 0 so that zero weights stay exact.
      let lo = 0;
      let hi = 0;
      for (let i = 0; i < len; i++) {
        const v = w[start + i];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const scale = hi > lo ? (hi - lo) / maxCode : 1;
      const zp = Math.min(maxCode, Math.max(0, Math.round(-lo / scale)));
      codes.fill(zp);
      for (let i = 0; i < len; i++) codes[i] = Math.min(maxCode, Math.max(0, Math.round(w[start + i] / scale) + zp));
      const s = row * blocksPerRow + blk;
      scales[s] = scale;
      const blob = s * blobBytes;
      if (bits === 8) {
        packed.set(codes, blob);
        zeroPoints[row * zpRowBytes + blk] = zp;
      } else {
        for (let i = 0; i < blockSize; i += 2) packed[blob + i / 2] = codes[i] | (codes[i + 1] << 4);
        const zi = row * zpRowBytes + (blk >> 1);
        zeroPoints[zi] |= blk & 1 ? zp << 4 : zp;
      }
    }
  }
  return { packed, scales, zeroPoints, blocksPerRow };
}

export interface PerChannelInt8 {
  /** int8 [K, N]: Wᵀ codes in -limit..limit */
  codes: Int8Array;
  /** float32 [N] */
  scales: Float32Array;
}

/** Symmetric int8 per output channel of W [N, K], transposed as MatMulInteger's B. */
export function quantizePerChannelInt8(w: Float32Array, n: number, k: number, limit = 127): PerChannelInt8 {
  const codes = new Int8Array(k * n);
  const scales = new Float32Array(n);
  for (let row = 0; row < n; row++) {
    let max = 0;
    for (let i = 0; i < k; i++) max = Math.max(max, Math.abs(w[row * k + i]));
    // Symmetric (-128 unused); an all-zero row keeps scale 1 and zero codes.
    const scale = max > 0 ? max / limit : 1;
    scales[row] = scale;
    for (let i = 0; i < k; i++) codes[i * n + row] = Math.round(w[row * k + i] / scale);
  }
  return { codes, scales };
}

/** IEEE half bits of a float32 array, round to nearest even. */
export function float32ToFloat16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; }
    const e = exp - 127 + 15;
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    if (e <= 0) {
      if (e < -10) { out[i] = sign; continue; }
      mant |= 0x800000;
      const shift = 14 - e;
      let h = mant >>> shift;
      const rem = mant & ((1 << shift) - 1);
      const half = 1 << (shift - 1);
      if (rem > half || (rem === half && (h & 1))) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
    out[i] = sign | h;
  }
  return out;
}
