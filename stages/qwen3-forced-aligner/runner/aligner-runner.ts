// The aligner on onnxruntime: every clip's audio through Qwen3-ASR's encoder
// runner (one call for the batch), then every clip's prompt as one row of a
// single classifier run (rows padded on the right), classifying only the
// <timestamp> slots. Rows are grouped so a run holds at most `maxRunTokens`
// padded tokens (activation memory grows with rows × longest row).
import ort from 'onnxruntime-node';
import type { EncoderRunner, MelInput } from '../../qwen3-asr/runner/types.js';
import { CLASSIFIER_IO } from '../graph/classifier.js';

export interface AlignInput extends MelInput {
  /** Prompt ids with `audioTokens` audio pads (text/prompt.ts builds them for the encoder's token count). */
  prompt(audioTokens: number): { ids: Int32Array; slots: Int32Array };
}

export interface AlignOutput {
  /** Slot logits [slots, classes], row-major. */
  logits: Float32Array;
  /** Padded tokens of the classifier run this clip went through (for metrics). */
  runTokens: number;
}

export class OnnxAlignerRunner {
  constructor(
    readonly encoder: EncoderRunner,
    private readonly session: ort.InferenceSession,
    readonly classes: number,
    private readonly maxRunTokens: number,
  ) {}

  async align(inputs: AlignInput[]): Promise<AlignOutput[]> {
    const audio = await this.encoder.encode(inputs);
    const rows = inputs.map((input, i) => ({ ...input.prompt(audio[i].length / this.encoder.outputDim), audio: audio[i], index: i }));
    const out: AlignOutput[] = new Array(inputs.length);
    // Longest first, so rows of similar length share a run and padding stays small.
    const order = [...rows].sort((a, b) => b.ids.length - a.ids.length);
    for (let start = 0; start < order.length;) {
      const width = order[start].ids.length;
      const count = Math.max(1, Math.min(order.length - start, Math.floor(this.maxRunTokens / width)));
      const run = order.slice(start, start + count);
      const logits = await this.classify(run, width);
      let off = 0;
      for (const r of run) {
        const n = r.slots.length * this.classes;
        out[r.index] = { logits: logits.slice(off, off + n), runTokens: width * run.length };
        off += n;
      }
      start += count;
    }
    return out;
  }

  private async classify(run: { ids: Int32Array; slots: Int32Array; audio: Float32Array }[], width: number): Promise<Float32Array> {
    const ids = new BigInt64Array(run.length * width);
    const slots: bigint[] = [];
    run.forEach((r, b) => {
      r.ids.forEach((id, s) => { ids[b * width + s] = BigInt(id); });
      r.slots.forEach((s) => slots.push(BigInt(b * width + s)));
    });
    const hidden = this.encoder.outputDim;
    const audio = new Float32Array(run.reduce((a, r) => a + r.audio.length, 0));
    let off = 0;
    for (const r of run) { audio.set(r.audio, off); off += r.audio.length; }
    const io = CLASSIFIER_IO;
    const res = await this.session.run({
      [io.inputIds]: new ort.Tensor('int64', ids, [run.length, width]),
      [io.audio]: new ort.Tensor('float32', audio, [audio.length / hidden, hidden]),
      [io.slotIndex]: new ort.Tensor('int64', BigInt64Array.from(slots), [slots.length]),
    });
    return res[io.logits].data as Float32Array;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.encoder.dispose(), this.session.release()]);
  }
}
