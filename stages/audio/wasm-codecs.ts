// In-process decoders for MP3, FLAC, Ogg Vorbis and Ogg Opus: the MIT-licensed
// WASM builds of mpg123, libFLAC, libvorbis and libopus (wasm-audio-decoders).
// A decoder instance per file keeps concurrent items apart; the compiled WASM
// module is cached by the library, so an instance costs only its memory.
import { StageError } from '../../src/runtime/contracts.js';
import { audioTooLarge, audioTooLong, undecodableAudio } from './errors.js';
import { checkPcmLayout } from './layout.js';

export type WasmCodec = 'mp3' | 'flac' | 'vorbis' | 'opus';

export interface DecodedPcm {
  channels: Float32Array[];
  sampleRate: number;
}

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
 * Bytes fed to the decoder at a time. Compressed audio can expand enormously (a FLAC
 * frame of constant samples is 13 bytes for 32768 samples), so the length is checked
 * after every feed: a file far over the cap costs one feed past the cap, not all of it.
 */
const FEED_BYTES = 4096;

/**
 * Decoded samples (all channels) allowed per second of the duration cap: 48 kHz stereo, the
 * largest layout speech is recorded in. Many channels at a high rate reach it before the
 * duration cap, so decoded memory stays bounded by the cap whatever the header says.
 */
const SAMPLES_PER_CAP_SECOND = 2 * 48000;

export interface WasmDecodeOptions {
  /** Decoding stops, and the file is refused, once more audio than this has come out. */
  maxDurationS: number;
}

/** Decodes a whole file; frames the codec reports as corrupt are skipped, as players do. */
export async function decodeWithWasm(codec: WasmCodec, bytes: Uint8Array, opts: WasmDecodeOptions): Promise<DecodedPcm> {
  const decoder = await createDecoder(codec);
  await decoder.ready;
  try {
    const output = new DecodedOutput(CODEC_NAMES[codec], opts.maxDurationS);
    try {
      for (let at = 0; at < bytes.length; at += FEED_BYTES) output.add(await decoder.decode(bytes.subarray(at, at + FEED_BYTES)));
      if (decoder.flush) output.add(await decoder.flush());
    } catch (err) {
      if (err instanceof StageError) throw err;
      throw undecodableAudio(`${CODEC_NAMES[codec]} decoder failed: ${(err as Error).message}`);
    }
    const pcm = output.join();
    if (codec === 'flac' && output.bitDepth) rescaleIntegerSamples(pcm.channels, output.bitDepth);
    return pcm;
  } finally {
    decoder.free();
  }
}

/** The decoder's output feed by feed, held until the end of the file and then joined per channel. */
class DecodedOutput {
  private readonly pieces: Float32Array[][] = [];
  private frames = 0;
  private sampleRate = 0;
  private firstError: string | undefined;
  bitDepth: number | undefined;

  constructor(
    private readonly codecName: string,
    private readonly maxDurationS: number,
  ) {}

  add(result: DecodedAudio): void {
    this.firstError ??= result.errors[0]?.message;
    if (result.samplesDecoded === 0 || result.channelData.length === 0) return;
    const first = this.pieces[0];
    const channels = result.channelData.length;
    if (!first) checkPcmLayout(result.sampleRate, channels); // before an absurd layout decodes far
    else if (channels !== first.length || result.sampleRate !== this.sampleRate)
      throw undecodableAudio(`${this.codecName} stream changes from ${first.length} channels at ${this.sampleRate} Hz to ${channels} at ${result.sampleRate} Hz`);
    this.sampleRate = result.sampleRate;
    this.bitDepth ??= result.bitDepth;
    this.pieces.push(result.channelData.map((plane) => plane.subarray(0, result.samplesDecoded)));
    this.frames += result.samplesDecoded;
    if (this.frames > this.maxDurationS * this.sampleRate) throw audioTooLong(this.frames / this.sampleRate, this.maxDurationS, { decodedSoFar: true });
    if (this.frames * channels > this.maxDurationS * SAMPLES_PER_CAP_SECOND) throw audioTooLarge(channels, this.sampleRate, this.maxDurationS);
  }

  join(): DecodedPcm {
    if (this.frames === 0) throw undecodableAudio(`${this.codecName} stream has no decodable audio (${this.firstError ?? 'no audio frames found'})`);
    const channels = this.pieces[0].map((_, c) => {
      if (this.pieces.length === 1) return this.pieces[0][c];
      const plane = new Float32Array(this.frames);
      let offset = 0;
      for (const piece of this.pieces) {
        plane.set(piece[c], offset);
        offset += piece[c].length;
      }
      return plane;
    });
    return { channels, sampleRate: this.sampleRate };
  }
}

/** The FLAC decoder divides integer samples by 2^(bits-1) - 1; WAV readers and the
 *  Python reference divide by 2^(bits-1). Recover the integers and rescale, in place. */
function rescaleIntegerSamples(channels: Float32Array[], bits: number): void {
  const stored = 2 ** (bits - 1) - 1;
  const wanted = 2 ** (bits - 1);
  for (const plane of channels) for (let i = 0; i < plane.length; i++) plane[i] = Math.round(plane[i] * stored) / wanted;
}
