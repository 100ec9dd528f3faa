// In-process decoders for MP3, FLAC, Ogg Vorbis and Ogg Opus: the MIT-licensed
// WASM builds of mpg123, libFLAC, libvorbis and libopus (wasm-audio-decoders).
// A decoder instance per file keeps concurrent items apart; the compiled WASM
// module is cached by the library, so an instance costs only its memory, which is
// dropped with the instance after the file (a WASM heap never shrinks, so none is reused).
// Output goes to a MonoSink piece by piece: FLAC frame by frame (at most 65535 samples
// per channel), the others per feed of FEED_BYTES, so no decoded file is ever held whole.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import CodecParser from 'codec-parser';
import { StageError } from '../../src/runtime/contracts.js';
import { throwIfCancelled, undecodableAudio } from './errors.js';
import type { MonoSink } from './mono-sink.js';

export type WasmCodec = 'mp3' | 'flac' | 'vorbis' | 'opus';

interface DecodedAudio {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  bitDepth?: number;
  errors: { message: string }[];
}

interface Decoder {
  ready: Promise<void>;
  decode(data: Uint8Array): DecodedAudio | Promise<DecodedAudio>;
  /** FLAC only: decodes whole frames, as split by codec-parser. */
  decodeFrames?(frames: Uint8Array[]): DecodedAudio | Promise<DecodedAudio>;
  /** Decodes what the parser still holds at the end of the stream (absent for MP3). */
  flush?(): Promise<DecodedAudio>;
  free(): void;
}

const CODEC_NAMES: Record<WasmCodec, string> = { mp3: 'MP3', flac: 'FLAC', vorbis: 'Ogg Vorbis', opus: 'Ogg Opus' };

async function createDecoder(codec: WasmCodec): Promise<Decoder> {
  switch (codec) {
    case 'mp3':
      return new (await import('mpg123-decoder')).MPEGDecoder();
    case 'flac':
      return new (await import('@wasm-audio-decoders/flac')).FLACDecoder();
    case 'vorbis':
      return new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder();
    case 'opus':
      return new (await import('ogg-opus-decoder')).OggOpusDecoder();
  }
}

/**
 * Bytes fed to the MP3, Vorbis and Opus decoders at a time. Their output per feed is bounded by
 * the codec (an MP3 frame is at least 24 bytes for 1152 samples; an Ogg page at most 255
 * packets): a 4 KB feed of MP3 gives at most ~400 k samples. FLAC is fed frame by frame,
 * because a frame of constant samples is 13 bytes for up to 65535 samples per channel:
 * 4 KB of it would decode to 200 MB at once.
 */
const FEED_BYTES = 4096;
/** Samples (all channels) decoded between yields to the worker's event loop, so that the other
 *  requests the decode stage runs concurrently get their turn: ~3 s of 48 kHz stereo, ~10 ms of work. */
const YIELD_EVERY_SAMPLES = 2 ** 18;

/**
 * The codec libraries print every corrupt frame to the console ("libopus -4 OPUS_INVALID_PACKET",
 * "mpg123-decoder: ...", FLAC errors): an upload of bit-flipped Opus wrote 26 lines to stderr,
 * so one client could flood the server's output. They return the same errors in their results,
 * which this module uses (the refusal's message names the first), so while any decode runs in
 * this worker the console's error and warn lines are dropped. Installed once per worker; the
 * decode worker runs nothing else that writes to the console (stages log through env.log).
 */
let decodesRunning = 0;
let consoleQuieted = false;
function quietConsole(): void {
  if (consoleQuieted) return;
  consoleQuieted = true;
  for (const level of ['error', 'warn'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (decodesRunning === 0) original(...args);
    };
  }
}

/** Decodes a whole file into `sink`, until the end or `signal` aborts; frames the codec reports as corrupt are skipped, as players do. */
export async function decodeWithWasm(codec: WasmCodec, bytes: Uint8Array, sink: MonoSink, signal?: AbortSignal): Promise<void> {
  quietConsole();
  decodesRunning++;
  try {
    await decodeQuietly(codec, bytes, sink, signal);
  } finally {
    decodesRunning--;
  }
}

async function decodeQuietly(codec: WasmCodec, bytes: Uint8Array, sink: MonoSink, signal?: AbortSignal): Promise<void> {
  const decoder = await createDecoder(codec);
  await decoder.ready;
  const name = CODEC_NAMES[codec];
  let firstError: string | undefined;
  let sinceYield = 0;
  const add = async (result: DecodedAudio) => {
    throwIfCancelled(signal); // the decoder's memory goes with it (finally below)
    firstError ??= result.errors[0]?.message;
    if (result.samplesDecoded === 0 || result.channelData.length === 0) return;
    if (codec === 'flac' && result.bitDepth) rescaleIntegerSamples(result.channelData, result.bitDepth, result.samplesDecoded);
    sink.add(result.channelData, result.sampleRate, result.samplesDecoded);
    sinceYield += result.samplesDecoded * result.channelData.length;
    if (sinceYield < YIELD_EVERY_SAMPLES) return;
    sinceYield = 0;
    await yieldToLoop();
  };
  try {
    if (codec === 'flac') await decodeFlacFrames(decoder, bytes, add);
    else {
      for (let at = 0; at < bytes.length; at += FEED_BYTES) await add(await decoder.decode(bytes.subarray(at, at + FEED_BYTES)));
      if (decoder.flush) await add(await decoder.flush());
    }
  } catch (err) {
    throwIfCancelled(signal);
    if (err instanceof StageError) throw err;
    throw undecodableAudio(`${name} decoder failed: ${(err as Error).message}`);
  } finally {
    decoder.free();
  }
  if (sink.frames === 0) throw undecodableAudio(`${name} stream has no decodable audio (${firstError ?? 'no audio frames found'})`);
}

/** Frames split by codec-parser (the parser the FLAC decoder itself uses), decoded one at a time. */
async function decodeFlacFrames(decoder: Decoder, bytes: Uint8Array, add: (result: DecodedAudio) => Promise<void>): Promise<void> {
  const parser = new CodecParser('audio/flac', { enableFrameCRC32: false });
  const decodeEach = async (frames: Iterator<{ data: Uint8Array }>) => {
    for (let next = frames.next(); !next.done; next = frames.next()) await add(await decoder.decodeFrames!([next.value.data]));
  };
  for (let at = 0; at < bytes.length; at += FEED_BYTES) await decodeEach(parser.parseChunk(bytes.subarray(at, at + FEED_BYTES)) as Iterator<{ data: Uint8Array }>);
  await decodeEach(parser.flush() as Iterator<{ data: Uint8Array }>);
}

/** The FLAC decoder divides integer samples by 2^(bits-1) - 1; WAV readers and the
 *  Python reference divide by 2^(bits-1). Recover the integers and rescale, in place. */
function rescaleIntegerSamples(channels: Float32Array[], bits: number, frames: number): void {
  const stored = 2 ** (bits - 1) - 1;
  const wanted = 2 ** (bits - 1);
  for (const plane of channels) for (let i = 0; i < frames; i++) plane[i] = Math.round(plane[i] * stored) / wanted;
}
