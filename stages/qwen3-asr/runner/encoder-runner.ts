// EncoderRunner over the encoder graph: plans runs for a batch of clips, runs
// them one by one and hands each clip its tokens.
import ort from 'onnxruntime-node';
import { ENCODER_IO } from '../graph/encoder.js';
import { windowTokens, type EncoderDims } from '../graph/dims.js';
import { planEncoderRuns } from './encoder-plan.js';
import type { EncoderRunner, MelInput } from './types.js';

/** Chunks per run: bounds activation memory (64 chunks ≈ 64 s of audio, ~0.4 GB of conv activations). */
export const MAX_CHUNKS_PER_RUN = 64;

export class OnnxEncoderRunner implements EncoderRunner {
  readonly outputDim: number;
  readonly window: { frames: number; tokens: number };

  constructor(private readonly session: ort.InferenceSession, private readonly dims: EncoderDims, private readonly maxChunks = MAX_CHUNKS_PER_RUN) {
    this.outputDim = dims.outputDim;
    this.window = { frames: dims.nWindowInfer, tokens: windowTokens(dims) };
  }

  async encode(clips: MelInput[]): Promise<Float32Array[]> {
    const parts: Float32Array[][] = clips.map(() => []);
    for (const run of planEncoderRuns(this.dims, clips, this.maxChunks)) {
      const io = ENCODER_IO;
      const res = await this.session.run({
        [io.features]: new ort.Tensor('float32', run.features, [run.chunks, this.dims.numMelBins, run.width]),
        [io.rowIndex]: new ort.Tensor('int64', run.rowIndex, [run.rowIndex.length]),
        [io.windowIndex]: new ort.Tensor('int64', run.windowIndex, [run.windows, run.windowLen]),
        [io.windowMask]: new ort.Tensor('int32', run.windowMask, [run.windows, run.windowLen]),
        [io.tokenIndex]: new ort.Tensor('int64', run.tokenIndex, [run.tokenIndex.length]),
      });
      const out = res[io.output].data as Float32Array;
      let off = 0;
      for (const p of run.pieces) {
        parts[p.clip].push(out.subarray(off * this.outputDim, (off + p.tokens) * this.outputDim));
        off += p.tokens;
      }
    }
    return parts.map((list) => (list.length === 1 ? list[0].slice() : concat(list)));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function concat(list: Float32Array[]): Float32Array {
  const out = new Float32Array(list.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of list) { out.set(p, off); off += p.length; }
  return out;
}
