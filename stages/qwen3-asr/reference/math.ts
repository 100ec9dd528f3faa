// Float64 building blocks for the reference forward pass: plain loops, no
// tricks, so that the ONNX graphs can be checked against something obviously right.

export interface Tensor64 { data: Float64Array; shape: number[] }

/** x [rows, k] · Wᵀ (W [n, k]) + b → [rows, n]. */
export function linear64(x: Float64Array, rows: number, w: Tensor64, b?: Tensor64): Float64Array {
  const [n, k] = w.shape;
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < n; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < k; i++) s += x[r * k + i] * w.data[o * k + i];
      out[r * n + o] = s;
    }
  }
  return out;
}

export function layerNorm64(x: Float64Array, rows: number, w: Tensor64, b: Tensor64, eps: number): Float64Array {
  const d = w.shape[0];
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) out[r * d + i] = (x[r * d + i] - mean) * inv * w.data[i] + b.data[i];
  }
  return out;
}

export function rmsNorm64(x: Float64Array, rows: number, w: Tensor64, eps: number): Float64Array {
  const d = w.shape[0];
  const out = new Float64Array(rows * d);
  for (let r = 0; r < rows; r++) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[r * d + i] ** 2;
    const inv = 1 / Math.sqrt(ms / d + eps);
    for (let i = 0; i < d; i++) out[r * d + i] = x[r * d + i] * inv * w.data[i];
  }
  return out;
}

/** erf by its Taylor series near 0 and a continued fraction for erfc further out (|error| < 1e-14). */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax > 6) return Math.sign(x);
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= -(ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
  let f = ax;
  for (let n = 60; n >= 1; n--) f = ax + n / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return Math.sign(x) * (1 - erfc);
}

export function gelu64(x: Float64Array): Float64Array {
  return x.map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
}

export function addInPlace(a: Float64Array, b: Float64Array): void {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

export function softmaxInPlace(x: Float64Array, start: number, len: number): void {
  let max = -Infinity;
  for (let i = 0; i < len; i++) max = Math.max(max, x[start + i]);
  let z = 0;
  for (let i = 0; i < len; i++) { x[start + i] = Math.exp(x[start + i] - max); z += x[start + i]; }
  for (let i = 0; i < len; i++) x[start + i] /= z;
}
