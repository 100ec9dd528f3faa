// Float64 reference of the Qwen3-ASR audio encoder, one clip at a time, written
// straight from the upstream forward pass: chunks of 2·n_window frames padded
// with zeros to the longest chunk (a clip shorter than one chunk stays
// unpadded), conv stem per chunk, per-chunk sinusoidal positions, padding
// tokens dropped, block-diagonal attention over windows, projector.
import type { EncoderDims } from '../graph/dims.js';
import { addInPlace, gelu64, layerNorm64, linear64, softmaxInPlace, type Tensor64 } from './math.js';
import type { ReferenceWeights } from './weights.js';

const P = 'thinker.audio_tower';

/** Upstream _get_feat_extract_output_lengths for a length below one chunk (floor division). */
function tailTokens(r: number): number {
  if (r === 0) return 0;
  const f = Math.floor((r - 1) / 2) + 1;
  return Math.floor((Math.floor((f - 1) / 2) + 1 - 1) / 2) + 1;
}

/** mel row-major [numMelBins, frames] → [N, outputDim]. */
export function referenceEncode(w: ReferenceWeights, d: EncoderDims, mel: Float32Array, frames: number): { data: Float64Array; tokens: number } {
  const chunk = 2 * d.nWindow;
  const nChunks = Math.ceil(frames / chunk);
  const width = frames < chunk ? frames : chunk;
  const pieces: Float64Array[] = [];
  for (let c = 0; c < nChunks; c++) {
    const start = c * chunk;
    const len = Math.min(chunk, frames - start);
    const x = new Float64Array(d.numMelBins * width);
    for (let f = 0; f < d.numMelBins; f++) for (let t = 0; t < len; t++) x[f * width + t] = mel[f * frames + start + t];
    const emb = chunkEmbeddings(w, d, x, width);
    const keep = len === chunk ? emb.tokens : tailTokens(len);
    pieces.push(emb.data.subarray(0, keep * d.dModel));
  }
  const n = pieces.reduce((a, p) => a + p.length / d.dModel, 0);
  let h: Float64Array = new Float64Array(n * d.dModel);
  let off = 0;
  for (const p of pieces) { h.set(p, off); off += p.length; }

  // upstream: tokens of the widest (padded) chunk times chunks per inference window
  const window = tailTokens(width) * Math.floor(d.nWindowInfer / chunk);
  for (let i = 0; i < d.layers; i++) h = encoderLayer(w, d, h, n, window, `${P}.layers.${i}`);
  const normed = layerNorm64(h, n, w.get(`${P}.ln_post.weight`), w.get(`${P}.ln_post.bias`), d.layerNormEps);
  const p1 = gelu64(linear64(normed, n, w.get(`${P}.proj1.weight`), w.get(`${P}.proj1.bias`)));
  return { data: linear64(p1, n, w.get(`${P}.proj2.weight`), w.get(`${P}.proj2.bias`)), tokens: n };
}

/** One chunk [numMelBins, width] through the conv stem, conv_out and positions → [t, dModel]. */
function chunkEmbeddings(w: ReferenceWeights, d: EncoderDims, x: Float64Array, width: number): { data: Float64Array; tokens: number } {
  let map = { data: x, ch: 1, h: d.numMelBins, w: width };
  for (const i of [1, 2, 3]) map = conv3x3s2Gelu(map, w.get(`${P}.conv2d${i}.weight`), w.get(`${P}.conv2d${i}.bias`));
  const t = map.w;
  const feat = map.ch * map.h;
  const flat = new Float64Array(t * feat);
  for (let c = 0; c < map.ch; c++) for (let f = 0; f < map.h; f++) for (let s = 0; s < t; s++) flat[s * feat + c * map.h + f] = map.data[(c * map.h + f) * t + s];
  const out = linear64(flat, t, w.get(`${P}.conv_out.weight`));
  const half = d.dModel / 2;
  const inc = Math.log(10000) / (half - 1);
  for (let s = 0; s < t; s++) {
    for (let i = 0; i < half; i++) {
      out[s * d.dModel + i] += Math.sin(s * Math.exp(-inc * i));
      out[s * d.dModel + half + i] += Math.cos(s * Math.exp(-inc * i));
    }
  }
  return { data: out, tokens: t };
}

function conv3x3s2Gelu(x: { data: Float64Array; ch: number; h: number; w: number }, wt: Tensor64, b: Tensor64) {
  const outCh = wt.shape[0];
  const oh = Math.floor((x.h - 1) / 2) + 1;
  const ow = Math.floor((x.w - 1) / 2) + 1;
  const out = new Float64Array(outCh * oh * ow);
  for (let o = 0; o < outCh; o++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let s = b.data[o];
        for (let c = 0; c < x.ch; c++) {
          for (let ki = 0; ki < 3; ki++) {
            const yi = 2 * i - 1 + ki;
            if (yi < 0 || yi >= x.h) continue;
            for (let kj = 0; kj < 3; kj++) {
              const xj = 2 * j - 1 + kj;
              if (xj < 0 || xj >= x.w) continue;
              s += wt.data[((o * x.ch + c) * 3 + ki) * 3 + kj] * x.data[(c * x.h + yi) * x.w + xj];
            }
          }
        }
        out[(o * oh + i) * ow + j] = s;
      }
    }
  }
  return { data: gelu64(out), ch: outCh, h: oh, w: ow };
}

function encoderLayer(w: ReferenceWeights, d: EncoderDims, h: Float64Array, n: number, window: number, p: string): Float64Array {
  const x = layerNorm64(h, n, w.get(`${p}.self_attn_layer_norm.weight`), w.get(`${p}.self_attn_layer_norm.bias`), d.layerNormEps);
  const proj = (name: string) => linear64(x, n, w.get(`${p}.self_attn.${name}.weight`), w.get(`${p}.self_attn.${name}.bias`));
  const q = proj('q_proj');
  const k = proj('k_proj');
  const v = proj('v_proj');
  const hd = d.dModel / d.heads;
  const ctx = new Float64Array(n * d.dModel);
  for (let ws = 0; ws < n; ws += window) {
    const we = Math.min(n, ws + window);
    const scores = new Float64Array(we - ws);
    for (let head = 0; head < d.heads; head++) {
      for (let i = ws; i < we; i++) {
        for (let j = ws; j < we; j++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += q[i * d.dModel + head * hd + e] * k[j * d.dModel + head * hd + e];
          scores[j - ws] = s / Math.sqrt(hd);
        }
        softmaxInPlace(scores, 0, we - ws);
        for (let j = ws; j < we; j++) for (let e = 0; e < hd; e++) ctx[i * d.dModel + head * hd + e] += scores[j - ws] * v[j * d.dModel + head * hd + e];
      }
    }
  }
  const out = h.slice();
  addInPlace(out, linear64(ctx, n, w.get(`${p}.self_attn.out_proj.weight`), w.get(`${p}.self_attn.out_proj.bias`)));
  const x2 = layerNorm64(out, n, w.get(`${p}.final_layer_norm.weight`), w.get(`${p}.final_layer_norm.bias`), d.layerNormEps);
  const f = gelu64(linear64(x2, n, w.get(`${p}.fc1.weight`), w.get(`${p}.fc1.bias`)));
  addInPlace(out, linear64(f, n, w.get(`${p}.fc2.weight`), w.get(`${p}.fc2.bias`)));
  return out;
}
