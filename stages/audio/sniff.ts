// Recognises the audio format from the file's first bytes. Filenames and
// content types come from the client and are not trusted.
import { ascii } from './bytes.js';
import { findFirstMpegFrame, skipId3v2 } from './mpeg-audio-header.js';

/** Which decoder handles the file: in-process ones, or ffmpeg for containers. */
export type AudioFormat =
  | { decoder: 'wav' }
  | { decoder: 'mp3'; firstFrame: number }
  | { decoder: 'flac' }
  | { decoder: 'vorbis' }
  | { decoder: 'opus' }
  | { decoder: 'ffmpeg'; container: string };


const MP4_TOP_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot']);

/** The format of `bytes`, or null when no supported signature matches. */
export function detectFormat(bytes: Uint8Array): AudioFormat | null {
  const magic = ascii(bytes, 0, 4);
  if (magic === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return { decoder: 'wav' };
  if ((magic === 'RF64' || magic === 'BW64') && ascii(bytes, 8, 4) === 'WAVE') return { decoder: 'ffmpeg', container: 'rf64' };
  if (magic === 'OggS') return oggCodec(bytes);
  if (magic === 'FORM' && /^AIF[FC]$/.test(ascii(bytes, 8, 4))) return { decoder: 'ffmpeg', container: 'aiff' };
  if (magic === 'caff') return { decoder: 'ffmpeg', container: 'caf' };
  if (ascii(bytes, 0, 5) === '#!AMR') return { decoder: 'ffmpeg', container: 'amr' };
  if (MP4_TOP_BOXES.has(ascii(bytes, 4, 4))) return { decoder: 'ffmpeg', container: 'mp4' };
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) return { decoder: 'ffmpeg', container: 'webm' };
  if (bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 1 && bytes[3] === 0xba) return { decoder: 'ffmpeg', container: 'mpeg-ps' };
  if (bytes.length >= 377 && bytes[0] === 0x47 && bytes[188] === 0x47 && bytes[376] === 0x47) return { decoder: 'ffmpeg', container: 'mpeg-ts' };

  const afterTags = skipId3v2(bytes);
  if (ascii(bytes, afterTags, 4) === 'fLaC') return { decoder: 'flac' };
  const firstFrame = findFirstMpegFrame(bytes);
  if (firstFrame >= 0) return { decoder: 'mp3', firstFrame };
  // ADTS AAC: the MPEG sync word with layer bits 00
  if (bytes[afterTags] === 0xff && (bytes[afterTags + 1] & 0xf6) === 0xf0) return { decoder: 'ffmpeg', container: 'aac' };
  return null;
}

function oggCodec(bytes: Uint8Array): AudioFormat {
  // first page: 27 header bytes, then the segment table, then the codec's identification packet
  const segments = bytes[26] ?? 0;
  const packet = 27 + segments;
  if (ascii(bytes, packet, 7) === '\x01vorbis') return { decoder: 'vorbis' };
  if (ascii(bytes, packet, 8) === 'OpusHead') return { decoder: 'opus' };
  return { decoder: 'ffmpeg', container: 'ogg' };
}
