// Float64 reference of the Qwen3 decoder: full recompute over the whole
// sequence for every call, no cache, causal GQA with NeoX RoPE and q/k RMSNorm.
import type { DecoderDims } from '../graph/dims.js';
import { addInPlace, linear64, rmsNorm64, softmaxInPlace } from './math.js';
import type { ReferenceWeights } from './weights.js';

const P = 'thinker.model';

/**
 * Logits [vocab] of the last position of `ids`; audio rows [count, hidden] replace
 * audio_token_id embeddings in order, and audio tokens past the last row keep their embedding.
 */
export function referenceLogits(w: ReferenceWeights, d: DecoderDims, ids: ArrayLike<number>, audio?: ArrayLike<number>): Float64Array {
  const n = ids.length;
  const H = d.hidden;
  const emb = w.get(`${P}.embed_tokens.weight`);
  let h: Float64Array = new Float64Array(n * H);
  let a = 0;
  for (let t = 0; t < n; t++) {
    if (ids[t] === d.audioTokenId && audio && (a + 1) * H <= audio.length) {
      for (let i = 0; i < H; i++) h[t * H + i] = audio[a * H + i];
      a++;
    } else {
      h.set(emb.data.subarray(ids[t] * H, (ids[t] + 1) * H), t * H);
    }
  }
  for (let l = 0; l < d.layers; l++) h = decoderLayer(w, d, h, n, `${P}.layers.${l}`);
  const last = rmsNorm64(h.subarray((n - 1) * H), 1, w.get(`${P}.norm.weight`), d.rmsNormEps);
  return linear64(last, 1, w.get(d.head));
}

/** Greedy continuation: `steps` argmax tokens after the prompt. */
export function referenceGreedy(w: ReferenceWeights, d: DecoderDims, prompt: number[], audio: ArrayLike<number> | undefined, steps: number): number[] {
  const ids = prompt.slice();
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const logits = referenceLogits(w, d, ids, audio);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    out.push(best);
    ids.push(best);
  }
  return out;
}

function rope(x: Float64Array, pos: number, heads: number, hd: number, theta: number, offset: number): void {
  const half = hd / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      const ang = pos * theta ** (-(2 * i) / hd);
      const a = x[offset + h * hd + i];
      const b = x[offset + h * hd + half + i];
      x[offset + h * hd + i] = a * Math.cos(ang) - b * Math.sin(ang);
      x[offset + h * hd + half + i] = b * Math.cos(ang) + a * Math.sin(ang);
    }
  }
}

function decoderLayer(w: ReferenceWeights, d: DecoderDims, h: Float64Array, n: number, p: string): Float64Array {
  const hd = d.headDim;
  const x = rmsNorm64(h, n, w.get(`${p}.input_layernorm.weight`), d.rmsNormEps);
  const q = rmsNorm64(linear64(x, n, w.get(`${p}.self_attn.q_proj.weight`)), n * d.heads, w.get(`${p}.self_attn.q_norm.weight`), d.rmsNormEps);
  const k = rmsNorm64(linear64(x, n, w.get(`${p}.self_attn.k_proj.weight`)), n * d.kvHeads, w.get(`${p}.self_attn.k_norm.weight`), d.rmsNormEps);
  const v = linear64(x, n, w.get(`${p}.self_attn.v_proj.weight`));
  for (let t = 0; t < n; t++) {
    rope(q, t, d.heads, hd, d.ropeTheta, t * d.heads * hd);
    rope(k, t, d.kvHeads, hd, d.ropeTheta, t * d.kvHeads * hd);
  }
  const group = d.heads / d.kvHeads;
  const ctx = new Float64Array(n * d.heads * hd);
  const scores = new Float64Array(n);
  for (let head = 0; head < d.heads; head++) {
    const kv = Math.floor(head / group);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let e = 0; e < hd; e++) s += q[(i * d.heads + head) * hd + e] * k[(j * d.kvHeads + kv) * hd + e];
        scores[j] = s / Math.sqrt(hd);
      }
      softmaxInPlace(scores, 0, i + 1);
      for (let j = 0; j <= i; j++) for (let e = 0; e < hd; e++) ctx[(i * d.heads + head) * hd + e] += scores[j] * v[(j * d.kvHeads + kv) * hd + e];
    }
  }
  const out = h.slice();
  addInPlace(out, linear64(ctx, n, w.get(`${p}.self_attn.o_proj.weight`)));
  const x2 = rmsNorm64(out, n, w.get(`${p}.post_attention_layernorm.weight`), d.rmsNormEps);
  const gate = linear64(x2, n, w.get(`${p}.mlp.gate_proj.weight`));
  const up = linear64(x2, n, w.get(`${p}.mlp.up_proj.weight`));
  for (let i = 0; i < gate.length; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
  addInPlace(out, linear64(gate, n, w.get(`${p}.mlp.down_proj.weight`)));
  return out;
}
