// Recognises the audio format from the file's first bytes. Filenames and
// content types come from the client and are not trusted. What is recognised here is
// also all that ffmpeg is allowed to read a file as (ffmpeg.ts pins the demuxer), so
// each signature is checked in full: a box name at bytes 4-7 is not an MP4 (issue 11:
// `<!--free-->` then a DASH manifest passed for one).
import { ascii } from './bytes.js';
import { findFirstMpegFrame, skipId3v2 } from './mpeg-audio-header.js';

/** Which decoder handles the file: in-process ones, or ffmpeg for containers. */
export type AudioFormat =
  | { decoder: 'wav' }
  | { decoder: 'mp3'; firstFrame: number }
  | { decoder: 'flac' }
  | { decoder: 'vorbis' }
  | { decoder: 'opus' }
  | { decoder: 'ffmpeg'; container: string; demuxer: string };


/** Top-level box types of MP4 and QuickTime files (ISO 14496-12 §4.2, QTFF): the only ones a file may start with. */
const MP4_TOP_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'styp', 'sidx', 'moof', 'mfra', 'meta', 'pdin']);

const container = (name: string, demuxer: string): AudioFormat => ({ decoder: 'ffmpeg', container: name, demuxer });

/** The format of `bytes`, or null when no supported signature matches. */
export function detectFormat(bytes: Uint8Array): AudioFormat | null {
  const magic = ascii(bytes, 0, 4);
  if (magic === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return { decoder: 'wav' };
  if ((magic === 'RF64' || magic === 'BW64') && ascii(bytes, 8, 4) === 'WAVE') return container('rf64', 'wav');
  if (magic === 'OggS') return oggCodec(bytes);
  if (magic === 'FORM' && /^AIF[FC]$/.test(ascii(bytes, 8, 4))) return container('aiff', 'aiff');
  if (magic === 'caff') return container('caf', 'caf');
  if (ascii(bytes, 0, 6) === '#!AMR\n' || ascii(bytes, 0, 9) === '#!AMR-WB\n') return container('amr', 'amr');
  if (isMp4(bytes)) return container('mp4', 'mov');
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return container('webm', 'matroska');
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0xba) return container('mpeg-ps', 'mpeg');
  if (bytes.length >= 377 && bytes[0] === 0x47 && bytes[188] === 0x47 && bytes[376] === 0x47) return container('mpeg-ts', 'mpegts');

  const afterTags = skipId3v2(bytes);
  if (ascii(bytes, afterTags, 4) === 'fLaC') return { decoder: 'flac' };
  const firstFrame = findFirstMpegFrame(bytes);
  if (firstFrame >= 0) return { decoder: 'mp3', firstFrame };
  // ADTS AAC: the MPEG sync word with layer bits 00
  if (bytes[afterTags] === 0xff && (bytes[afterTags + 1] & 0xf6) === 0xf0) return container('aac', 'aac');
  return null;
}

/**
 * An MP4/QuickTime box structure from byte 0: a first box of a top-level type whose size fits
 * the file, and, unless that box is `ftyp` with a brand of four printable characters, a complete
 * `moov` box among the top-level boxes (old QuickTime files have no ftyp). An upload cut short
 * after its ftyp still counts (ffmpeg then says what is missing).
 */
function isMp4(bytes: Uint8Array): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const box = (at: number) => {
    if (at + 8 > bytes.length) return null;
    const type = ascii(bytes, at + 4, 4);
    let size = dv.getUint32(at);
    if (size === 1 && at + 16 <= bytes.length) size = Number(dv.getBigUint64(at + 8));
    else if (size === 0) size = bytes.length - at; // runs to the end of the file
    return /^[a-z0-9 ]{4}$/i.test(type) && size >= 8 ? { type, size } : null;
  };
  const first = box(0);
  if (!first || !MP4_TOP_BOXES.has(first.type) || first.size > bytes.length) return false;
  if (first.type === 'ftyp') return first.size >= 16 && /^[\x20-\x7e]{4}$/.test(ascii(bytes, 8, 4));
  for (let at = 0; at < bytes.length; ) {
    const next = box(at);
    if (!next || !MP4_TOP_BOXES.has(next.type) || at + next.size > bytes.length) return false;
    if (next.type === 'moov') return true;
    at += next.size;
  }
  return false;
}

function oggCodec(bytes: Uint8Array): AudioFormat {
  // first page: 27 header bytes, then the segment table, then the codec's identification packet
  const segments = bytes[26] ?? 0;
  const packet = 27 + segments;
  if (ascii(bytes, packet, 7) === '\x01vorbis') return { decoder: 'vorbis' };
  if (ascii(bytes, packet, 8) === 'OpusHead') return { decoder: 'opus' };
  return container('ogg', 'ogg');
}
