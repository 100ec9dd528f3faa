// MPEG-1/2/2.5 audio (layers I-III) frame headers: enough to recognise an MP3
// stream and to estimate its duration without decoding it.

export interface MpegFrameHeader {
  sampleRate: number;
  /** Bits per second; 0 for the free format (no fixed frame size). */
  bitrate: number;
  /** Bytes from this header to the next one; 0 for the free format. */
  frameLength: number;
  samplesPerFrame: number;
  channels: number;
  /** 1 for MPEG-1, 2 for MPEG-2 and MPEG-2.5 (the layout of the Xing header depends on it). */
  mpegVersion: 1 | 2;
}

// kbit/s by [version1 ? 0 : 1][layer - 1][index]
const BITRATES = [
  [
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  [
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
];
const MPEG1_RATES = [44100, 48000, 32000];

/** The frame header at `at`, or null when the four bytes there are not a valid one. */
export function readMpegFrameHeader(bytes: Uint8Array, at: number): MpegFrameHeader | null {
  if (at + 4 > bytes.length || bytes[at] !== 0xff || (bytes[at + 1] & 0xe0) !== 0xe0) return null;
  const versionBits = (bytes[at + 1] >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
  const layerBits = (bytes[at + 1] >> 1) & 3; // 0: reserved (ADTS AAC uses it), 1: III, 2: II, 3: I
  const bitrateIndex = bytes[at + 2] >> 4;
  const rateIndex = (bytes[at + 2] >> 2) & 3;
  if (versionBits === 1 || layerBits === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const layer = 4 - layerBits;
  const mpeg1 = versionBits === 3;
  const sampleRate = MPEG1_RATES[rateIndex] / (mpeg1 ? 1 : versionBits === 2 ? 2 : 4);
  const bitrate = BITRATES[mpeg1 ? 0 : 1][layer - 1][bitrateIndex] * 1000;
  const padding = (bytes[at + 2] >> 1) & 1;
  const samplesPerFrame = layer === 1 ? 384 : layer === 3 && !mpeg1 ? 576 : 1152;
  const frameLength =
    bitrate === 0
      ? 0
      : layer === 1
        ? (Math.floor((12 * bitrate) / sampleRate) + padding) * 4
        : Math.floor(((samplesPerFrame / 8) * bitrate) / sampleRate) + padding;
  const channels = bytes[at + 3] >> 6 === 3 ? 1 : 2;
  return { sampleRate, bitrate, frameLength, samplesPerFrame, channels, mpegVersion: mpeg1 ? 1 : 2 };
}

/** Offset just past any ID3v2 tags at `at` (several may be chained). */
export function skipId3v2(bytes: Uint8Array, at = 0): number {
  while (at + 10 <= bytes.length && bytes[at] === 0x49 && bytes[at + 1] === 0x44 && bytes[at + 2] === 0x33) {
    const size = ((bytes[at + 6] & 0x7f) << 21) | ((bytes[at + 7] & 0x7f) << 14) | ((bytes[at + 8] & 0x7f) << 7) | (bytes[at + 9] & 0x7f);
    const footer = bytes[at + 5] & 0x10 ? 10 : 0;
    at += 10 + size + footer;
  }
  return at;
}

/** Where the first MPEG audio frame starts after tags and zero padding, confirmed by
 *  the header of the frame after it when the file is long enough to hold one. */
export function findFirstMpegFrame(bytes: Uint8Array): number {
  let at = skipId3v2(bytes);
  while (at < bytes.length && bytes[at] === 0) at++;
  const first = readMpegFrameHeader(bytes, at);
  if (!first) return -1;
  const next = at + first.frameLength;
  if (first.frameLength === 0 || next + 4 > bytes.length) return at;
  return readMpegFrameHeader(bytes, next) ? at : -1;
}
