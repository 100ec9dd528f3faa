// DecoderRunner over the decoder graph and a host-owned KV store. Prefill runs
// one slot (one row); a decode step runs the first n rows, where n covers every
// requested slot, feeding rows that are not part of the step (sequences still
// prefilling) a throwaway token whose keys/values are not stored. Prefill may run
// on a second session whose graph uses another int8 kernel (same I/O).
import ort from 'onnxruntime-node';
import { DECODER_IO } from '../graph/decoder.js';
import type { DecoderDims } from '../graph/dims.js';
import { KvStore, type KvArray, type KvRows } from '../../common/engine/kv-store.js';
import type { KvCacheType } from '../../common/graph/attention.js';
import type { DecoderRunner } from '../../common/engine/runner.js';

export class DecoderInputError extends Error {
  readonly code = 'ERR_DECODER_INPUT';
}

/** Longest past a prefill chunk reads as a copy: 64 positions are 15 MB over the 0.6B's 28 layers (float32). */
const NARROW_MAX_PAST = 64;
export class OnnxDecoderRunner implements DecoderRunner {
  readonly vocabSize: number;
  private readonly kv: KvStore;

  constructor(private readonly session: ort.InferenceSession, private readonly dims: DecoderDims, readonly maxSlots: number, readonly maxContext: number,
    private readonly prefillSession = session) {
    this.vocabSize = dims.vocabSize;
    this.kv = new KvStore({ layers: dims.layers, maxSlots, kvHeads: dims.kvHeads, maxContext, headDim: dims.headDim, type: cacheType(session),
      writesInPlace: session.outputNames.includes(DECODER_IO.presentKey(0)) });
    if (cacheType(prefillSession) !== this.kv.type) throw new DecoderInputError('the prefill and decode graphs declare different KV cache types');
  }

  async prefill(slot: number, ids: Int32Array, audio?: Float32Array): Promise<Float32Array> {
    if (ids.length === 0) throw new DecoderInputError('prefill needs at least one token');
    const audioRows = audio ? audio.length / this.dims.hidden : 0;
    const audioIds = ids.reduce((a, id) => a + (id === this.dims.audioTokenId ? 1 : 0), 0);
    if (audio && (!Number.isInteger(audioRows) || audioRows !== audioIds)) {
      throw new DecoderInputError(`audio holds ${audio.length} values; ${audioIds} audio tokens need ${audioIds}×${this.dims.hidden}`);
    }
    if (!audio && audioIds > 0) throw new DecoderInputError(`${audioIds} audio tokens but no audio embeddings`);
    const row = this.kv.row(slot);
    this.kv.reserve(slot, ids.length);
    return this.step(this.prefillSession, row, 1, [row], [ids], audio ?? new Float32Array(0), audioRows);
  }

  async decode(slots: number[], tokens: Int32Array): Promise<Float32Array> {
    if (slots.length !== tokens.length) throw new DecoderInputError(`${slots.length} slots but ${tokens.length} tokens`);
    if (new Set(slots).size !== slots.length) throw new DecoderInputError('a slot appears twice in one decode step');
    for (const s of slots) this.kv.reserve(s, 1);
    const rows = slots.map((s) => this.kv.row(s));
    const n = Math.max(...rows) + 1;
    return this.step(this.session, 0, n, rows, slots.map((_, i) => tokens.subarray(i, i + 1)), new Float32Array(0), 0);
  }

  length(slot: number): number { return this.kv.length(slot); }

  release(slot: number): void { this.kv.release(slot); }

  saveKv(slot: number, length: number): KvRows { return this.kv.copyOut(slot, length); }

  loadKv(slot: number, rows: KvRows, length: number): void { this.kv.copyIn(slot, rows, length); }

  async dispose(): Promise<void> {
    await this.session.release();
    if (this.prefillSession !== this.session) await this.prefillSession.release();
  }

  /** Runs cache rows first..first+n-1; `rows[i]` gets `ids[i]` (all the same length); returns logits in `rows` order. */
  private async step(session: ort.InferenceSession, first: number, n: number, rows: number[], ids: Int32Array[], audio: Float32Array, audioRows: number): Promise<Float32Array> {
    const d = this.dims;
    const io = DECODER_IO;
    const seq = ids[0].length;
    const idTensor = new BigInt64Array(n * seq);
    rows.forEach((r, i) => ids[i].forEach((id, t) => { idTensor[(r - first) * seq + t] = BigInt(id); }));
    const pastLen = BigInt64Array.from({ length: n }, (_, b) => BigInt(this.kv.rowLength(first + b)));
    const feeds: Record<string, ort.Tensor> = {
      [io.inputIds]: new ort.Tensor('int64', idTensor, [n, seq]),
      [io.audio]: new ort.Tensor('float32', audio, [audioRows, d.hidden]),
      [io.pastLen]: new ort.Tensor('int64', pastLen, [n]),
    };
    // An in-place graph's present outputs are bound to the cache views it reads (onnxruntime-node
    // writes bound outputs into their buffers): the kernel stores the new keys/values itself.
    const inPlace = this.kv.shape.writesInPlace === true;
    // A prefill chunk whose rows hold little past reads copies of just that past: the views would
    // make it score every query against the whole stride (a fresh 173-token prompt: 192 positions,
    // all masked). Only a short past is copied (NARROW_MAX_PAST: a fresh prompt, a reused system
    // turn), as the copies of every layer are alive during the run. A decode step reads the views.
    const maxPast = !inPlace && seq > 1 ? Number(pastLen.reduce((a, b) => (b > a ? b : a), 0n)) : Infinity;
    const width = maxPast <= NARROW_MAX_PAST && 2 * maxPast <= this.kv.stride ? Math.max(1, maxPast) : this.kv.stride;
    const cacheDims = [n, d.kvHeads, width, d.headDim];
    const fetches: Record<string, ort.Tensor | null> = { [io.logits]: null };
    for (let l = 0; l < d.layers; l++) {
      const v = width === this.kv.stride ? this.kv.view(l, first, n) : this.kv.narrowView(l, first, n, width);
      feeds[io.pastKey(l)] = new ort.Tensor(this.kv.type, v.k, cacheDims);
      feeds[io.pastValue(l)] = new ort.Tensor(this.kv.type, v.v, cacheDims);
      if (inPlace) [fetches[io.presentKey(l)], fetches[io.presentValue(l)]] = [feeds[io.pastKey(l)], feeds[io.pastValue(l)]];
    }
    const res = inPlace ? await session.run(feeds, fetches as ort.InferenceSession.FetchesType) : await session.run(feeds);
    for (let l = 0; l < d.layers && !inPlace; l++) {
      const k = res[io.newKey(l)].data as KvArray;
      const v = res[io.newValue(l)].data as KvArray;
      for (const r of rows) this.kv.write(l, r, k, v, r - first, seq);
    }
    for (const r of rows) this.kv.append(r, seq);
    const all = res[io.logits].data as Float32Array;
    const V = d.vocabSize;
    const logits = new Float32Array(rows.length * V);
    rows.forEach((r, i) => logits.set(all.subarray((r - first) * V, (r - first + 1) * V), i * V));
    return logits;
  }
}

/** The cache's element type as the graph declares its past_key_0 input (float16: half the memory per slot). */
function cacheType(session: ort.InferenceSession): KvCacheType {
  const meta = session.inputMetadata.find((m) => m.name === DECODER_IO.pastKey(0));
  const type = meta?.isTensor ? meta.type : undefined;
  if (type !== 'float32' && type !== 'float16') throw new DecoderInputError(`decoder graph: ${DECODER_IO.pastKey(0)} is ${type ?? 'missing'}, not float32 or float16`);
  return type;
}
