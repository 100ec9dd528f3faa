// Bytes of an uploaded file → planar float samples at the file's own rate.
import { audioTooLong, emptyAudio, unsupportedAudio } from './errors.js';
import { decodeWithFfmpeg } from './ffmpeg.js';
import { probeDuration } from './probe.js';
import { detectFormat, type AudioFormat } from './sniff.js';
import { decodeWithWasm, type DecodedPcm } from './wasm-codecs.js';
import { checkPcmLayout } from './layout.js';
import { decodeWavSamples, isPlainWav, readWavLayout } from './wav.js';

export interface DecodedAudio {
  /** One array per channel, each owning its whole buffer (transferable). */
  channels: Float32Array[];
  sampleRate: number;
  /** Seconds. */
  duration: number;
}

export interface DecodeOptions {
  /** Longer files are refused with ERR_AUDIO_TOO_LONG, from headers when they tell. */
  maxDurationS: number;
}

export async function decodeAudio(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedAudio> {
  if (bytes.length === 0) throw emptyAudio('no bytes were uploaded');
  const format = detectFormat(bytes);
  if (!format) throw unsupportedAudio('the file is not WAV, MP3, FLAC, Ogg (Vorbis/Opus), MP4/M4A, WebM or MPEG audio');
  const declared = probeDuration(bytes);
  if (declared !== null && declared > opts.maxDurationS) throw audioTooLong(declared, opts.maxDurationS);

  const pcm = await decodeFormat(bytes, format, opts);
  checkPcmLayout(pcm.sampleRate, pcm.channels.length);
  const channels = sanitize(pcm.channels);
  const duration = channels[0].length / pcm.sampleRate;
  if (channels[0].length === 0) throw emptyAudio('the file decodes to no samples');
  if (duration > opts.maxDurationS) throw audioTooLong(duration, opts.maxDurationS);
  return { channels, sampleRate: pcm.sampleRate, duration };
}

function decodeFormat(bytes: Uint8Array, format: AudioFormat, opts: DecodeOptions): Promise<DecodedPcm> | DecodedPcm {
  switch (format.decoder) {
    case 'wav': {
      const layout = readWavLayout(bytes);
      if (isPlainWav(layout)) return { channels: decodeWavSamples(bytes, layout), sampleRate: layout.sampleRate };
      return decodeWithFfmpeg(bytes, `WAV format ${layout.formatTag}`, opts);
    }
    case 'ffmpeg':
      return decodeWithFfmpeg(bytes, format.container, opts);
    default:
      return decodeWithWasm(format.decoder, bytes, opts);
  }
}

/** Equal-length channels, each in its own buffer, with NaN and ±Infinity (corrupt float data) set to 0. */
function sanitize(planes: Float32Array[]): Float32Array[] {
  const frames = Math.min(...planes.map((p) => p.length));
  return planes.map((plane) => {
    const owned = plane.byteOffset === 0 && plane.buffer.byteLength === frames * 4 ? plane : plane.slice(0, frames);
    for (let i = 0; i < frames; i++) if (!Number.isFinite(owned[i])) owned[i] = 0;
    return owned;
  });
}
