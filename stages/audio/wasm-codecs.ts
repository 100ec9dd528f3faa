// In-process decoders for MP3, FLAC, Ogg Vorbis and Ogg Opus: the MIT-licensed
// WASM builds of mpg123, libFLAC, libvorbis and libopus (wasm-audio-decoders).
// A decoder instance per file keeps concurrent items apart; the compiled WASM
// module is cached by the library, so an instance costs only its memory.
import { undecodableAudio } from './errors.js';

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
  decodeFile?(data: Uint8Array): Promise<DecodedAudio>;
  decode(data: Uint8Array): DecodedAudio | Promise<DecodedAudio>;
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

/** Decodes a whole file; frames the codec reports as corrupt are skipped, as players do. */
export async function decodeWithWasm(codec: WasmCodec, bytes: Uint8Array): Promise<DecodedPcm> {
  const decoder = await createDecoder(codec);
  await decoder.ready;
  try {
    let result: DecodedAudio;
    try {
      result = await (decoder.decodeFile ? decoder.decodeFile(bytes) : decoder.decode(bytes));
    } catch (err) {
      throw undecodableAudio(`${CODEC_NAMES[codec]} decoder failed: ${(err as Error).message}`);
    }
    if (result.samplesDecoded === 0 || result.channelData.length === 0) {
      const why = result.errors[0]?.message ?? 'no audio frames found';
      throw undecodableAudio(`${CODEC_NAMES[codec]} stream has no decodable audio (${why})`);
    }
    const channels = result.channelData.map((plane) => plane.subarray(0, result.samplesDecoded));
    if (codec === 'flac' && result.bitDepth) rescaleIntegerSamples(channels, result.bitDepth);
    return { channels, sampleRate: result.sampleRate };
  } finally {
    decoder.free();
  }
}

/** The FLAC decoder divides integer samples by 2^(bits-1) - 1; WAV readers and the
 *  Python reference divide by 2^(bits-1). Recover the integers and rescale, in place. */
function rescaleIntegerSamples(channels: Float32Array[], bits: number): void {
  const stored = 2 ** (bits - 1) - 1;
  const wanted = 2 ** (bits - 1);
  for (const plane of channels) for (let i = 0; i < plane.length; i++) plane[i] = Math.round(plane[i] * stored) / wanted;
}
