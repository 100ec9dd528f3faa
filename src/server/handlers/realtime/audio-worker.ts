// The realtime handler's audio thread (piscina, one thread): the client's bytes →
// 16 kHz float samples (G.711 expanded, 24 kHz PCM16 resampled with the decode
// stage's streaming resampler) and, for sessions with server_vad, the Silero VAD
// speech probability of every 512-sample window. onnxruntime's run blocks its
// thread, so none of this runs on the event loop. Each stream's resampler, LSTM
// state and unfinished window live here between calls; the session sends one
// call at a time per stream, so a stream's calls never interleave.
//
// Windows of all streams waiting at once are stepped in one model run (Silero
// costs 0.31 ms per run at batch 1 and 1.03 ms at batch 8 on 2 cores, model.ts):
// 32 live streams are ~1000 windows a second, about a third of a core unbatched.
import { move } from 'piscina';
import { Resampler, TARGET_RATE } from '../../../../stages/audio/resample.js';
import { SileroVad, WINDOW, defaultModelPath } from '../../../../stages/silero-vad/model.js';
import { packResult, type AudioTask } from './audio-protocol.js';
import { expandG711, pcm16ToFloat, sourceRate, type AudioFormat } from './audio-formats.js';

const CONTEXT = 64;
const STATE = 2 * 128;
/** Rows in one model run at most. */
const MAX_BATCH = 64;

interface Stream {
  resampler: Resampler;
  state: Float32Array;
  /** The 64 samples before `pending` (the model reads each window with them), then samples not yet a whole window. */
  carry: Float32Array;
}

const streams = new Map<string, Stream>();
let vadLoad: Promise<SileroVad> | undefined;
const vad = () => (vadLoad ??= SileroVad.load(defaultModelPath(), 'cpu', 1));

interface Row {
  samples: Float32Array;
  start: number;
  state: Float32Array;
  resolve(prob: number): void;
  reject(err: unknown): void;
}
const waiting: Row[] = [];
let stepping = false;

/** Steps every waiting row together until none is left. */
async function drain(): Promise<void> {
  if (stepping) return;
  stepping = true;
  const model = await vad();
  try {
    while (waiting.length > 0) {
      const rows = waiting.splice(0, MAX_BATCH);
      try {
        const probs = await model.step(rows);
        rows.forEach((row, i) => row.resolve(probs[i]));
      } catch (err) {
        rows.forEach((row) => row.reject(err));
      }
    }
  } finally {
    stepping = false;
  }
}

function probability(samples: Float32Array, state: Float32Array): Promise<number> {
  return new Promise((resolve, reject) => {
    waiting.push({ samples, start: CONTEXT, state, resolve, reject });
    void drain();
  });
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function open(id: string, format: AudioFormat): Stream {
  const stream = { resampler: new Resampler(sourceRate(format), TARGET_RATE), state: new Float32Array(STATE), carry: new Float32Array(CONTEXT) };
  streams.set(id, stream);
  return stream;
}

/** Speech probabilities of the whole windows that `samples` completes, in order. */
async function windows(stream: Stream, samples: Float32Array): Promise<Float32Array> {
  const all = concat(stream.carry, samples);
  const count = Math.floor((all.length - CONTEXT) / WINDOW);
  const probs = new Float32Array(count);
  for (let w = 0; w < count; w++) {
    // subarray: the model reads [start - 64, start + 512) of it, no copy
    probs[w] = await probability(all.subarray(w * WINDOW, w * WINDOW + CONTEXT + WINDOW), stream.state);
  }
  stream.carry = all.slice(count * WINDOW);
  return probs;
}

export default async function run(task: AudioTask): Promise<ArrayBuffer | null> {
  if (task.op === 'close') {
    streams.delete(task.id);
    return null;
  }
  const stream = streams.get(task.id) ?? open(task.id, task.format);
  const bytes = new Uint8Array(task.bytes);
  const input = task.format === 'pcm16' ? pcm16ToFloat(bytes) : expandG711(bytes, task.format);
  let samples = stream.resampler.push(input);
  if (task.flush) {
    // A manual commit ends the turn: the resampler's look-ahead is written out, the next turn starts afresh.
    samples = concat(samples, stream.resampler.finish());
    stream.resampler = new Resampler(sourceRate(task.format), TARGET_RATE);
  }
  const probs = task.vad ? await windows(stream, samples) : new Float32Array(0);
  if (!task.vad) stream.carry = new Float32Array(CONTEXT);
  return move(packResult({ samples, probs })) as ArrayBuffer;
}
