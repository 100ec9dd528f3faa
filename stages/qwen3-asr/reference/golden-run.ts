// Runs the project's own code path on a golden set (reference/golden.ts) at one
// precision: WAV bytes → decoded waveform → log-mel → encoder (each clip alone
// and all in one batch) → prompt ids → prefill logits → greedy ids. Returns the
// errors against the golden tensors; the golden test asserts them and
// bench/quant-error.ts reports them for int8 / int4.
import fs from 'node:fs';
import path from 'node:path';
import { decodeAudio } from '../../audio/decode.js';
import { whisperLogMel, type LogMel } from '../../audio/mel.js';
import { createDecoderRunner, createEncoderRunner } from '../runner/index.js';
import type { KvCacheType } from '../../common/graph/attention.js';
import type { Precision } from '../../common/engine/runner.js';
import type { QuantKernel } from '../../common/graph/context.js';
import { loadAsrText, type AsrText } from '../text/index.js';
import { relativeError } from '../../common/reference/golden-dir.js';
import { argmax } from './fixture.js';
import type { GoldenSet } from './golden.js';

export interface GoldenCase { input: string; prompt: string; context: string; language?: string }

export interface GoldenRun {
  text: AsrText;
  cases: GoldenCase[];
  /** Each input as WAV bytes (its file, or its waveform as a float WAV), for the pipeline. */
  wavBytes: Map<string, Uint8Array>;
  mels: Map<string, LogMel>;
  /** max |mel - golden| per input. */
  melError: Map<string, number>;
  /** Encoder output relative error per input, alone and in one batch with the others. */
  encoderError: Map<string, { alone: number; batched: number }>;
  /** Per case: prefill logits relative error, the greedy ids, and the golden ones. */
  decoded: { c: GoldenCase; logitsError: number; greedy: number[]; expected: number[] }[];
}

/** 44-byte RIFF header + IEEE float32 mono 16 kHz samples. */
function floatWav(samples: Float32Array): Uint8Array {
  const out = Buffer.alloc(44 + samples.byteLength);
  out.write('RIFF', 0); out.writeUInt32LE(36 + samples.byteLength, 4); out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16); out.writeUInt16LE(3, 20); out.writeUInt16LE(1, 22); out.writeUInt32LE(16000, 24);
  out.writeUInt32LE(64000, 28); out.writeUInt16LE(4, 32); out.writeUInt16LE(32, 34);
  out.write('data', 36); out.writeUInt32LE(samples.byteLength, 40);
  Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).copy(out, 44);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export function goldenCases(golden: GoldenSet): GoldenCase[] {
  return golden.inputs.flatMap((input) => golden.prompts.map((prompt) => {
    const p = golden.manifest.prompts[prompt];
    return { input, prompt, context: p.context, language: p.language ?? undefined };
  }));
}

/** Kernels of a quantised run (common/graph/context.ts): the encoder's, decode steps', prefill's. */
export interface GoldenKernels { encoder?: QuantKernel; decode?: QuantKernel; prefill?: QuantKernel }

export async function runGolden(golden: GoldenSet, opts: { precision: Precision; cacheDir: string; kernels?: GoldenKernels; kvCache?: KvCacheType; kvInPlace?: boolean }): Promise<GoldenRun> {
  const modelPath = golden.checkpoint;
  const text = loadAsrText(modelPath);
  const cases = goldenCases(golden);
  const wavBytes = new Map(golden.inputs.map((input) => {
    const file = golden.manifest.inputs[input].wav;
    return [input, file ? new Uint8Array(fs.readFileSync(path.join(golden.dir, file))) : floatWav(golden.floats(`${input}.wave`))];
  }));
  const mels = new Map<string, LogMel>();
  for (const input of golden.inputs) mels.set(input, whisperLogMel((await decodeAudio(wavBytes.get(input)!, { maxDurationS: 60 })).channels[0], 128));
  const melError = new Map([...mels].map(([input, mel]) => [input, maxAbsDiff(mel.mel, golden.floats(`${input}.mel`))]));

  const runnerOpts = { modelPath, cacheDir: opts.cacheDir, precision: opts.precision, device: 'cpu', threads: 1 };
  const k = opts.kernels ?? {};
  const encoder = await createEncoderRunner({ ...runnerOpts, quantKernel: k.encoder });
  const decoder = await createDecoderRunner({ ...runnerOpts, quantKernel: k.decode, prefillQuantKernel: k.prefill, kvCache: opts.kvCache, kvInPlace: opts.kvInPlace, maxSlots: 1, maxContext: 512 });
  try {
    const batched = await encoder.encode([...mels.values()]);
    const encoderError = new Map<string, { alone: number; batched: number }>();
    for (const [i, [input, mel]] of [...mels].entries()) {
      const expected = golden.floats(`${input}.enc`);
      const [alone] = await encoder.encode([mel]);
      encoderError.set(input, { alone: relativeError(alone, expected), batched: relativeError(batched[i], expected) });
    }
    const decoded: GoldenRun['decoded'] = [];
    for (const c of cases) {
      const audio = batched[golden.inputs.indexOf(c.input)];
      let logits = await decoder.prefill(0, text.codec.promptIds(c.context, audio.length / encoder.outputDim, c.language), audio);
      const logitsError = relativeError(logits, golden.floats(`${c.input}.${c.prompt}.logits`));
      const greedy: number[] = [];
      for (let s = 0; s < golden.manifest.steps; s++) {
        greedy.push(argmax(logits));
        if (s + 1 < golden.manifest.steps) logits = await decoder.decode([0], Int32Array.of(greedy[s]));
      }
      decoder.release(0);
      decoded.push({ c, logitsError, greedy, expected: golden.ids(`${c.input}.${c.prompt}.greedy`) });
    }
    return { text, cases, wavBytes, mels, melError, encoderError, decoded };
  } finally {
    await encoder.dispose();
    await decoder.dispose();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
