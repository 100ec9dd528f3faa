// Host-side planning for the encoder graph: cuts clips into mel chunks, groups
// them into runs, and builds the gather indexes of the packed layout
// (graph/encoder.ts): the real tokens of the chunk token table, packed in output
// order (every linear layer runs on these rows only), and the attention windows
// over them. A 10 s clip is 130 tokens = windows of 104 + 26; padding each
// window to 104 rows, as before, ran the layers on 208 rows (60 % more work).
//
// A window (104 tokens) is exactly 8 full chunks of 13 tokens, and only a clip's
// last chunk can be partial, so windows never straddle clips and a long clip
// can be split across runs at any multiple of 8 chunks. Clips shorter than one
// chunk keep their own width (no padding), so they only batch with clips of the
// same length. A clip's first windows may be skipped (MelInput.skipWindows):
// the rest is planned exactly as it is inside the whole clip.
import { audioTokenCount, chunkFrames, chunkTokens, windowTokens, type EncoderDims } from '../graph/dims.js';
import type { MelInput } from './types.js';

export interface EncoderRun {
  /** [chunks, numMelBins, width] */
  features: Float32Array;
  chunks: number;
  width: number;
  /** [tokens] int64: the chunk-table row (chunk·tokensPerChunk + t) of each packed token, in output order. */
  rowIndex: BigInt64Array;
  /** [windows, windowLen] int64: packed token of each window slot (0 in padding slots, masked); int32 mask, 1 for real tokens. */
  windowIndex: BigInt64Array;
  windowMask: Int32Array;
  windows: number;
  windowLen: number;
  /** [tokens] int64: slot of [windows·windowLen] holding each packed token (where its attention output is read back). */
  tokenIndex: BigInt64Array;
  /** Which clip each consecutive slice of the output belongs to. */
  pieces: { clip: number; tokens: number }[];
}

interface Piece { clip: number; chunkStart: number; chunkEnd: number; width: number }

export class EncoderInputError extends Error {
  readonly code = 'ERR_ENCODER_INPUT';
}

/** Splits a batch of clips into encoder runs of at most `maxChunks` chunks each. */
export function planEncoderRuns(d: EncoderDims, clips: MelInput[], maxChunks: number): EncoderRun[] {
  const cf = chunkFrames(d);
  const chunksPerWindow = d.nWindowInfer / cf;
  const step = Math.max(chunksPerWindow, Math.floor(maxChunks / chunksPerWindow) * chunksPerWindow);
  const byWidth = new Map<number, Piece[]>();
  clips.forEach((c, clip) => {
    if (!(c.frames > 0) || !Number.isInteger(c.frames)) throw new EncoderInputError(`clip ${clip}: frames must be a positive integer, got ${c.frames}`);
    if (c.mel.length !== d.numMelBins * c.frames) throw new EncoderInputError(`clip ${clip}: mel holds ${c.mel.length} values, expected ${d.numMelBins}×${c.frames}`);
    const width = Math.min(cf, c.frames);
    const total = Math.ceil(c.frames / cf);
    const skip = c.skipWindows ?? 0;
    if (!Number.isInteger(skip) || skip < 0 || skip * d.nWindowInfer > c.frames) throw new EncoderInputError(`clip ${clip}: skipWindows ${skip} is not a whole number of its complete windows`);
    const list = byWidth.get(width) ?? [];
    for (let s = skip * chunksPerWindow; s < total; s += step) list.push({ clip, chunkStart: s, chunkEnd: Math.min(total, s + step), width });
    byWidth.set(width, list);
  });
  const runs: EncoderRun[] = [];
  for (const pieces of byWidth.values()) {
    let batch: Piece[] = [];
    let chunks = 0;
    for (const p of pieces) {
      const n = p.chunkEnd - p.chunkStart;
      if (chunks + n > step && batch.length > 0) { runs.push(buildRun(d, clips, batch)); batch = []; chunks = 0; }
      batch.push(p);
      chunks += n;
    }
    if (batch.length > 0) runs.push(buildRun(d, clips, batch));
  }
  return runs;
}

function buildRun(d: EncoderDims, clips: MelInput[], pieces: Piece[]): EncoderRun {
  const cf = chunkFrames(d);
  const width = pieces[0].width;
  const perChunk = chunkTokens(width);
  const winTokens = Math.min(windowTokens(d), width < cf ? perChunk : Infinity);
  const chunks = pieces.reduce((a, p) => a + p.chunkEnd - p.chunkStart, 0);
  const features = new Float32Array(chunks * d.numMelBins * width);
  const windows: number[][] = [];
  const out: { clip: number; tokens: number }[] = [];
  let chunkBase = 0;
  for (const p of pieces) {
    const { mel, frames } = clips[p.clip];
    for (let c = p.chunkStart; c < p.chunkEnd; c++) {
      const start = c * cf;
      const len = Math.min(width, frames - start);
      const dst = (chunkBase + c - p.chunkStart) * d.numMelBins * width;
      for (let f = 0; f < d.numMelBins; f++) features.set(mel.subarray(f * frames + start, f * frames + start + len), dst + f * width);
    }
    // Tokens of this piece: all chunks full except possibly the clip's last one.
    const before = p.chunkStart * chunkTokens(cf);
    const tokens = Math.min(audioTokenCount(d, frames), p.chunkEnd * chunkTokens(cf)) - before;
    for (let t0 = 0; t0 < tokens; t0 += winTokens) {
      const rows: number[] = [];
      for (let t = t0; t < Math.min(tokens, t0 + winTokens); t++) rows.push((chunkBase + Math.floor(t / perChunk)) * perChunk + (t % perChunk));
      windows.push(rows);
    }
    out.push({ clip: p.clip, tokens });
    chunkBase += p.chunkEnd - p.chunkStart;
  }
  const windowLen = Math.max(...windows.map((w) => w.length));
  const tokens = windows.reduce((a, w) => a + w.length, 0);
  const rowIndex = new BigInt64Array(tokens);
  // Padding slots read packed token 0: their keys are masked and their outputs never read back.
  const windowIndex = new BigInt64Array(windows.length * windowLen);
  const windowMask = new Int32Array(windows.length * windowLen);
  const tokenIndex = new BigInt64Array(tokens);
  let packed = 0;
  windows.forEach((rows, w) => rows.forEach((r, i) => {
    rowIndex[packed] = BigInt(r);
    windowIndex[w * windowLen + i] = BigInt(packed);
    windowMask[w * windowLen + i] = 1;
    tokenIndex[packed++] = BigInt(w * windowLen + i);
  }));
  return { features, chunks, width, rowIndex, windowIndex, windowMask, windows: windows.length, windowLen, tokenIndex, pieces: out };
}
