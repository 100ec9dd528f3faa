// Rotary position embedding, NeoX layout (rotate_half: the two halves of each
// head), through onnxruntime's fused RotaryEmbedding with precomputed tables.
import type { GraphBuilder } from '../onnx/graph-builder.js';

export interface RotaryTables { cos: string; sin: string; headDim: number }

/** cos/sin tables [maxPositions, headDim/2] for inv_freq[i] = theta^(-2i/headDim). */
export function rotaryTables(g: GraphBuilder, name: string, theta: number, headDim: number, maxPositions: number): RotaryTables {
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half);
  const sin = new Float32Array(maxPositions * half);
  for (let i = 0; i < half; i++) {
    const invFreq = theta ** (-(2 * i) / headDim);
    for (let p = 0; p < maxPositions; p++) {
      const a = p * invFreq;
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return {
    cos: g.initializer(`${name}.cos`, 'float32', [maxPositions, half], cos),
    sin: g.initializer(`${name}.sin`, 'float32', [maxPositions, half], sin),
    headDim,
  };
}

/** Rotates x [B, heads, S, headDim] (onnxruntime's 4-D form: no reshape around it) at positions [B, S] (int64). */
export function applyRotary(g: GraphBuilder, x: string, positions: string, t: RotaryTables): string {
  return g.op1('RotaryEmbedding', [x, positions, t.cos, t.sin], { interleaved: 0 }, { domain: 'com.microsoft' });
}
