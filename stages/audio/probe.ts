// Duration from headers alone, so that over-long uploads are refused before any
// decoding work. null when the format does not say (the decoded length decides then).
import { ascii } from './bytes.js';
import { readMpegFrameHeader, skipId3v2 } from './mpeg-audio-header.js';
import { detectFormat } from './sniff.js';
import { isPlainWav, readWavLayout } from './wav.js';

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Seconds of audio the file's headers declare, or null when they do not tell. */
export function probeDuration(bytes: Uint8Array): number | null {
  const format = detectFormat(bytes);
  switch (format?.decoder) {
    case 'wav': {
      const layout = readWavLayout(bytes);
      return isPlainWav(layout) ? layout.dataBytes / layout.blockAlign / layout.sampleRate : null;
    }
    case 'mp3':
      return mp3Duration(bytes, format.firstFrame);
    case 'flac':
      return flacDuration(bytes);
    case 'vorbis':
    case 'opus':
      return oggDuration(bytes, format.decoder);
    case 'ffmpeg':
      return format.container === 'mp4' ? mp4Duration(bytes) : format.container === 'webm' ? matroskaDuration(bytes) : null;
    default:
      return null;
  }
}

/** Frame count from a Xing/Info or VBRI header, else from walking the frame headers
 *  (a first-frame bitrate estimate would be far off for VBR files without those headers). */
function mp3Duration(bytes: Uint8Array, at: number): number | null {
  const h = readMpegFrameHeader(bytes, at)!;
  const dv = view(bytes);
  const sideInfo = h.mpegVersion === 1 ? (h.channels === 2 ? 32 : 17) : h.channels === 2 ? 17 : 9;
  const xing = at + 4 + sideInfo;
  const tag = ascii(bytes, xing, 4);
  if ((tag === 'Xing' || tag === 'Info') && xing + 12 <= bytes.length && dv.getUint32(xing + 4) & 1)
    return (dv.getUint32(xing + 8) * h.samplesPerFrame) / h.sampleRate;
  const vbri = at + 36;
  if (ascii(bytes, vbri, 4) === 'VBRI' && vbri + 18 <= bytes.length) return (dv.getUint32(vbri + 14) * h.samplesPerFrame) / h.sampleRate;
  let frames = 0;
  for (let next = readMpegFrameHeader(bytes, at); next && next.frameLength > 0; next = readMpegFrameHeader(bytes, at)) {
    frames++;
    at += next.frameLength;
  }
  return frames > 0 ? (frames * h.samplesPerFrame) / h.sampleRate : null;
}

/** Total samples over the sample rate, from STREAMINFO (0 total samples means unknown). */
function flacDuration(bytes: Uint8Array): number | null {
  const info = skipId3v2(bytes) + 8; // 'fLaC', then the STREAMINFO block header
  if (info + 18 > bytes.length) return null;
  const dv = view(bytes);
  const sampleRate = dv.getUint32(info + 10) >>> 12;
  const total = (bytes[info + 13] & 0x0f) * 2 ** 32 + dv.getUint32(info + 14);
  return sampleRate > 0 && total > 0 ? total / sampleRate : null;
}

/** Granule position of the last page over the stream's rate (Opus: 48 kHz, less the pre-skip). */
function oggDuration(bytes: Uint8Array, codec: 'vorbis' | 'opus'): number | null {
  const dv = view(bytes);
  const packet = 27 + bytes[26];
  // Vorbis identification packet: rate at 12..16; OpusHead: pre-skip at 10..12
  if (packet + (codec === 'opus' ? 12 : 16) > bytes.length) return null;
  const rate = codec === 'opus' ? 48000 : dv.getUint32(packet + 12, true);
  const preSkip = codec === 'opus' ? dv.getUint16(packet + 10, true) : 0;
  for (let at = bytes.length - 27; at >= 0; at--) {
    if (bytes[at] !== 0x4f || ascii(bytes, at, 4) !== 'OggS') continue;
    const granule = dv.getBigInt64(at + 6, true);
    if (granule >= 0n && rate > 0) return Math.max(0, Number(granule) - preSkip) / rate;
  }
  return null;
}

/** Duration of the first sound track (mdhd over its timescale): the movie's mvhd
 *  duration covers video tracks too. The moov box may sit anywhere among the top-level boxes. */
function mp4Duration(bytes: Uint8Array): number | null {
  const dv = view(bytes);
  const moov = findBox(bytes, dv, 0, bytes.length, 'moov');
  for (let from = moov?.body ?? bytes.length, trak; moov && (trak = findBox(bytes, dv, from, moov.end, 'trak')); from = trak.end) {
    const mdia = findBox(bytes, dv, trak.body, trak.end, 'mdia');
    const hdlr = mdia && findBox(bytes, dv, mdia.body, mdia.end, 'hdlr');
    const mdhd = mdia && findBox(bytes, dv, mdia.body, mdia.end, 'mdhd');
    if (!hdlr || !mdhd || ascii(bytes, hdlr.body + 8, 4) !== 'soun' || mdhd.body + 32 > bytes.length) continue;
    const v1 = bytes[mdhd.body] === 1;
    const timescale = dv.getUint32(mdhd.body + (v1 ? 20 : 12));
    const duration = v1 ? Number(dv.getBigUint64(mdhd.body + 24)) : dv.getUint32(mdhd.body + 16);
    return timescale > 0 ? duration / timescale : null;
  }
  return null;
}

function findBox(bytes: Uint8Array, dv: DataView, from: number, to: number, type: string): { body: number; end: number } | null {
  for (let at = from; at + 8 <= to; ) {
    let size = dv.getUint32(at);
    let header = 8;
    if (size === 1 && at + 16 <= to) (size = Number(dv.getBigUint64(at + 8))), (header = 16);
    else if (size === 0) size = to - at; // box runs to the end
    if (size < header) return null;
    if (ascii(bytes, at + 4, 4) === type) return { body: at + header, end: Math.min(at + size, to) };
    at += size;
  }
  return null;
}

const SEGMENT = 0x18538067;
const INFO = 0x1549a966;
const CLUSTER = 0x1f43b675;
const TIMECODE_SCALE = 0x2ad7b1;
const DURATION = 0x4489;

/** EBML variable-length integer at `at`: its value (marker bit kept for ids) and byte length. */
function readVint(bytes: Uint8Array, at: number, keepMarker: boolean): { value: number; length: number } | null {
  const first = bytes[at];
  if (first === undefined || first === 0) return null;
  const length = Math.clz32(first) - 23; // leading zeros within the byte, plus one
  if (at + length > bytes.length) return null;
  let value = keepMarker ? first : first & (0xff >> length);
  for (let i = 1; i < length; i++) value = value * 256 + bytes[at + i];
  const unknown = !keepMarker && value === 2 ** (7 * length) - 1; // all ones: size not known (live streams)
  return { value: unknown ? Infinity : value, length };
}

/** Segment Info's Duration × TimecodeScale. Live recordings (MediaRecorder) often leave Duration out. */
function matroskaDuration(bytes: Uint8Array): number | null {
  const dv = view(bytes);
  let scale = 1_000_000; // ns per tick, Matroska's default
  let duration: number | null = null;
  for (let at = 0; at < bytes.length; ) {
    const id = readVint(bytes, at, true);
    const size = id && readVint(bytes, at + id.length, false);
    if (!id || !size) break;
    const body = at + id.length + size.length;
    if (id.value === SEGMENT || id.value === INFO) {
      at = body; // descend: the fields wanted are inside
      continue;
    }
    if (id.value === CLUSTER || size.value === Infinity) break; // audio data: Info has been passed
    if (id.value === TIMECODE_SCALE && size.value <= 6) scale = readUint(bytes, body, size.value);
    if (id.value === DURATION && body + size.value <= bytes.length)
      duration = size.value === 4 ? dv.getFloat32(body) : size.value === 8 ? dv.getFloat64(body) : null;
    at = body + size.value;
  }
  return duration !== null && duration > 0 ? (duration * scale) / 1e9 : null;
}

function readUint(bytes: Uint8Array, at: number, length: number): number {
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[at + i];
  return value;
}
