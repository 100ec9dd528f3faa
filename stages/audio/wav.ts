// RIFF/WAVE reader: integer PCM (8/16/24/32 bit), IEEE float (32/64 bit), and the
// same inside WAVE_FORMAT_EXTENSIBLE. Other WAVE codecs (A-law, ADPCM...) are left to ffmpeg.
import { ascii } from './bytes.js';
import { emptyAudio, undecodableAudio, unsupportedAudio } from './errors.js';

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Sane bounds for header fields: outside them the header is garbage or hostile. */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384000;
export const MAX_CHANNELS = 64;

export interface WavLayout {
  /** WAVE format tag, resolved through WAVE_FORMAT_EXTENSIBLE's sub-format. */
  formatTag: number;
  channels: number;
  sampleRate: number;
  /** Bits each sample occupies (blockAlign / channels): 12-bit audio is stored in 16. */
  bitsPerSample: number;
  blockAlign: number;
  dataOffset: number;
  /** Bytes of whole frames actually present (a truncated or streamed file's remainder). */
  dataBytes: number;
}

type WavFormat = Omit<WavLayout, 'dataOffset' | 'dataBytes'>;

/** The fmt chunk and where the data chunk's samples start (its declared size too), or null when
 *  `bytes` end before the data chunk's header: also how a WAV streamed out of ffmpeg is read. */
export function readWavHeader(bytes: Uint8Array): { fmt: WavFormat; dataOffset: number; declaredBytes: number } | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: WavFormat | undefined;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = ascii(bytes, at, 4);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ') fmt = readFmt(view, at + 8, Math.min(size, bytes.length - at - 8));
    if (id === 'data') {
      if (!fmt) throw undecodableAudio('WAV data chunk comes before its fmt chunk');
      return { fmt, dataOffset: at + 8, declaredBytes: size };
    }
    at += 8 + size + (size & 1); // chunks are padded to even sizes
  }
  return null;
}

/** Walks the chunks to the fmt and data chunks and checks the header is sane. */
export function readWavLayout(bytes: Uint8Array): WavLayout {
  const header = readWavHeader(bytes);
  if (!header) throw undecodableAudio('WAV file has no data chunk');
  const { fmt, dataOffset, declaredBytes } = header;
  // streamed writers leave 0 or 0xFFFFFFFF; truncated uploads hold less than declared
  const present = bytes.length - dataOffset;
  const declared = declaredBytes === 0 || declaredBytes === 0xffffffff ? present : Math.min(declaredBytes, present);
  const dataBytes = declared - (declared % fmt.blockAlign);
  if (dataBytes === 0) throw emptyAudio('the WAV data chunk holds no samples');
  return { ...fmt, dataOffset, dataBytes };
}

function readFmt(view: DataView, at: number, size: number): WavFormat {
  if (size < 16) throw undecodableAudio('WAV fmt chunk is shorter than 16 bytes');
  let formatTag = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const validBits = view.getUint16(at + 14, true);
  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (size < 40) throw undecodableAudio('WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes');
    formatTag = view.getUint16(at + 24, true); // first two bytes of the sub-format GUID
  }
  if (channels < 1 || channels > MAX_CHANNELS) throw undecodableAudio(`WAV header declares ${channels} channels (1..${MAX_CHANNELS} supported)`);
  if (sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE)
    throw undecodableAudio(`WAV header declares a sample rate of ${sampleRate} Hz (${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} supported)`);
  if (blockAlign === 0) throw undecodableAudio('WAV header declares a block size of 0');
  // integer samples are left-justified in their container, so reading the container scales them right
  const container = (8 * blockAlign) / channels;
  const bitsPerSample = Number.isInteger(container) && container >= validBits ? container : validBits;
  return { formatTag, channels, sampleRate, bitsPerSample, blockAlign };
}

/** True when decodeWavSamples can read the layout; false for codecs left to ffmpeg. */
export function isPlainWav(layout: WavLayout): boolean {
  const { formatTag, bitsPerSample } = layout;
  if (formatTag === WAVE_FORMAT_PCM) return [8, 16, 24, 32].includes(bitsPerSample);
  return formatTag === WAVE_FORMAT_IEEE_FLOAT && (bitsPerSample === 32 || bitsPerSample === 64);
}

/** Planar float samples in [-1, 1) (floats as stored) from a plain PCM or float WAV: `count` frames from frame `from` (default: all). */
export function decodeWavSamples(bytes: Uint8Array, layout: WavLayout, from = 0, count = layout.dataBytes / layout.blockAlign - from): Float32Array[] {
  if (!isPlainWav(layout)) throw unsupportedAudio(`WAV format tag ${layout.formatTag} with ${layout.bitsPerSample} bits`);
  const { channels, blockAlign, dataOffset, dataBytes, bitsPerSample } = layout;
  const bytesPerSample = bitsPerSample / 8;
  if (blockAlign !== channels * bytesPerSample)
    throw undecodableAudio(`WAV block size ${blockAlign} does not match ${channels} channels of ${bitsPerSample} bits`);
  const out = Array.from({ length: channels }, () => new Float32Array(count));
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, dataBytes);
  const read = sampleReader(view, layout.formatTag, bitsPerSample);
  for (let c = 0; c < channels; c++) {
    const plane = out[c];
    for (let i = 0, at = from * blockAlign + c * bytesPerSample; i < count; i++, at += blockAlign) plane[i] = read(at);
  }
  return out;
}

function sampleReader(view: DataView, formatTag: number, bits: number): (at: number) => number {
  if (formatTag === WAVE_FORMAT_IEEE_FLOAT) return bits === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  switch (bits) {
    case 8: // 8-bit WAV is unsigned with 128 as silence
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => ((view.getInt8(at + 2) << 16) | view.getUint16(at, true)) / 8388608;
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}
