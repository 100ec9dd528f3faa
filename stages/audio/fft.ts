// Power spectrum of a real frame of even length n through a mixed-radix complex
// FFT of n/2 points (400 → 200 = 4·2·5·5): Whisper's n_fft of 400 is not a power of two.

/** |X[k]|² for k = 0..n/2 of a real input of length n. */
export type PowerSpectrum = (frame: Float64Array, power: Float64Array) => void;

interface Stage {
  radix: number;
  /** Size of the sub-transforms this stage combines. */
  span: number;
  /** cos/sin of -2πjk/(span·radix) for k < span, j = 1..radix-1, laid out [k][j-1]. */
  twRe: Float64Array;
  twIm: Float64Array;
}

// radix-5 butterfly constants: cos and sin of 2π/5 and 4π/5
const C1 = Math.cos((2 * Math.PI) / 5);
const C2 = Math.cos((4 * Math.PI) / 5);
const S1 = Math.sin((2 * Math.PI) / 5);
const S2 = Math.sin((4 * Math.PI) / 5);

function factorize(m: number): number[] {
  const factors: number[] = [];
  for (const p of [4, 2, 3, 5]) while (m % p === 0) (factors.push(p), (m /= p));
  for (let p = 7; m > 1; p += 2) while (m % p === 0) (factors.push(p), (m /= p));
  return factors;
}

/** Input order of a decimation-in-time FFT: the recursion splits by factors[0] first. */
function digitReversal(indices: number[], factors: number[]): number[] {
  if (factors.length === 0) return indices;
  const [p, ...rest] = factors;
  const out: number[] = [];
  for (let j = 0; j < p; j++) out.push(...digitReversal(indices.filter((_, i) => i % p === j), rest));
  return out;
}

export function createPowerSpectrum(n: number): PowerSpectrum {
  if (n % 2 !== 0 || n < 4) throw new Error(`real FFT length must be even and at least 4, got ${n}`);
  const m = n / 2;
  const factors = factorize(m);
  const order = Int32Array.from(digitReversal(Array.from({ length: m }, (_, i) => i), factors));
  const stages: Stage[] = [];
  let span = 1;
  for (const radix of [...factors].reverse()) {
    const twRe = new Float64Array(span * (radix - 1));
    const twIm = new Float64Array(span * (radix - 1));
    for (let k = 0; k < span; k++)
      for (let j = 1; j < radix; j++) {
        const angle = (-2 * Math.PI * j * k) / (span * radix);
        twRe[k * (radix - 1) + j - 1] = Math.cos(angle);
        twIm[k * (radix - 1) + j - 1] = Math.sin(angle);
      }
    stages.push({ radix, span, twRe, twIm });
    span *= radix;
  }
  // roots of unity for the generic radix-p butterfly, and the real-FFT post-processing twiddles
  const rootRe = (p: number, q: number) => Math.cos((-2 * Math.PI * q) / p);
  const rootIm = (p: number, q: number) => Math.sin((-2 * Math.PI * q) / p);
  const postRe = Float64Array.from({ length: m + 1 }, (_, k) => Math.cos((-2 * Math.PI * k) / n));
  const postIm = Float64Array.from({ length: m + 1 }, (_, k) => Math.sin((-2 * Math.PI * k) / n));
  const re = new Float64Array(m);
  const im = new Float64Array(m);
  const xr = new Float64Array(8);
  const xi = new Float64Array(8);
  const generic = new Map<number, { c: Float64Array; s: Float64Array }>();
  for (const p of factors)
    if (p !== 2 && p !== 4 && p !== 5 && !generic.has(p))
      generic.set(p, {
        c: Float64Array.from({ length: p * p }, (_, i) => rootRe(p, (Math.floor(i / p) * (i % p)) % p)),
        s: Float64Array.from({ length: p * p }, (_, i) => rootIm(p, (Math.floor(i / p) * (i % p)) % p)),
      });

  return (frame, power) => {
    // pack even/odd samples as one complex sequence, in digit-reversed order
    for (let i = 0; i < m; i++) {
      const src = order[i];
      re[i] = frame[2 * src];
      im[i] = frame[2 * src + 1];
    }
    for (const { radix, span, twRe, twIm } of stages) {
      const block = span * radix;
      const roots = generic.get(radix);
      for (let b = 0; b < m; b += block)
        for (let k = 0; k < span; k++) {
          // gather the radix inputs, twiddled
          xr[0] = re[b + k];
          xi[0] = im[b + k];
          for (let j = 1; j < radix; j++) {
            const at = b + j * span + k;
            const wr = twRe[k * (radix - 1) + j - 1];
            const wi = twIm[k * (radix - 1) + j - 1];
            xr[j] = re[at] * wr - im[at] * wi;
            xi[j] = re[at] * wi + im[at] * wr;
          }
          if (radix === 2) {
            re[b + k] = xr[0] + xr[1];
            im[b + k] = xi[0] + xi[1];
            re[b + span + k] = xr[0] - xr[1];
            im[b + span + k] = xi[0] - xi[1];
          } else if (radix === 4) {
            const ar = xr[0] + xr[2], ai = xi[0] + xi[2];
            const br = xr[0] - xr[2], bi = xi[0] - xi[2];
            const cr = xr[1] + xr[3], ci = xi[1] + xi[3];
            const dr = xr[1] - xr[3], di = xi[1] - xi[3];
            re[b + k] = ar + cr;
            im[b + k] = ai + ci;
            re[b + span + k] = br + di; // b - i·d
            im[b + span + k] = bi - dr;
            re[b + 2 * span + k] = ar - cr;
            im[b + 2 * span + k] = ai - ci;
            re[b + 3 * span + k] = br - di; // b + i·d
            im[b + 3 * span + k] = bi + dr;
          } else if (radix === 5) {
            const t1r = xr[1] + xr[4], t1i = xi[1] + xi[4];
            const t2r = xr[2] + xr[3], t2i = xi[2] + xi[3];
            const t3r = xr[1] - xr[4], t3i = xi[1] - xi[4];
            const t4r = xr[2] - xr[3], t4i = xi[2] - xi[3];
            const a1r = xr[0] + C1 * t1r + C2 * t2r, a1i = xi[0] + C1 * t1i + C2 * t2i;
            const a2r = xr[0] + C2 * t1r + C1 * t2r, a2i = xi[0] + C2 * t1i + C1 * t2i;
            const b1r = S1 * t3r + S2 * t4r, b1i = S1 * t3i + S2 * t4i;
            const b2r = S2 * t3r - S1 * t4r, b2i = S2 * t3i - S1 * t4i;
            re[b + k] = xr[0] + t1r + t2r;
            im[b + k] = xi[0] + t1i + t2i;
            re[b + span + k] = a1r + b1i; // a1 - i·b1
            im[b + span + k] = a1i - b1r;
            re[b + 2 * span + k] = a2r + b2i; // a2 - i·b2
            im[b + 2 * span + k] = a2i - b2r;
            re[b + 3 * span + k] = a2r - b2i; // a2 + i·b2
            im[b + 3 * span + k] = a2i + b2r;
            re[b + 4 * span + k] = a1r - b1i; // a1 + i·b1
            im[b + 4 * span + k] = a1i + b1r;
          } else {
            const { c, s } = roots!;
            for (let q = 0; q < radix; q++) {
              let sr = 0;
              let si = 0;
              for (let j = 0; j < radix; j++) {
                const cq = c[q * radix + j];
                const sq = s[q * radix + j];
                sr += xr[j] * cq - xi[j] * sq;
                si += xr[j] * sq + xi[j] * cq;
              }
              re[b + q * span + k] = sr;
              im[b + q * span + k] = si;
            }
          }
        }
    }
    // split the packed transform into the spectrum of the real input
    for (let k = 0; k <= m; k++) {
      const a = k % m;
      const c = (m - k) % m;
      const er = (re[a] + re[c]) / 2;
      const ei = (im[a] - im[c]) / 2;
      const or = (im[a] + im[c]) / 2; // (Z[k] - conj Z[m-k]) / 2i
      const oi = -(re[a] - re[c]) / 2;
      const xr0 = er + postRe[k] * or - postIm[k] * oi;
      const xi0 = ei + postRe[k] * oi + postIm[k] * or;
      power[k] = xr0 * xr0 + xi0 * xi0;
    }
  };
}
