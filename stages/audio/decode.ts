// Bytes of an uploaded file → 16 kHz mono float samples. Every decoder streams its output
// into a MonoSink, which downmixes and resamples each piece as it comes: a request holds its
// upload and the 16 kHz result, never the source's samples (issue 11: a 369 KB FLAC of 4 h
// of 48 kHz stereo silence took RSS from 200 MB to 4.3 GB).
import { audioTooLong, emptyAudio, unsupportedAudio } from './errors.js';
import { checkDecodedLength, decodeWithFfmpeg, type FfmpegInput, type FfmpegOptions } from './ffmpeg.js';
import { MonoSink } from './mono-sink.js';
import { probeDuration } from './probe.js';
import { checkFramesLength } from './source-length.js';
import { detectFormat, type AudioFormat } from './sniff.js';
import { describeTextUpload } from './text-upload.js';
import { decodeWithWasm } from './wasm-codecs.js';
import { decodeWavSamples, isPlainWav, readWavLayout } from './wav.js';

import { TARGET_RATE } from './resample.js';

export interface DecodeOptions extends FfmpegOptions {
  /** Longer files are refused with ERR_AUDIO_TOO_LONG: from the headers when they tell, else (and
   *  also when they lie) by a cheap counting pass before the decode that resamples. */
  maxDurationS: number;
  /** Aborted when the request is cancelled: decoding stops at its next piece and frees what it holds. */
  signal?: AbortSignal;
  /** Told the seconds of source audio decoded and resampled so far, after each piece. */
  onProgress?(sourceSeconds: number): void;
  /** Told the bytes of 16 kHz output about to be committed, before they are; may throw to refuse them. */
  onCommit?(byteLength: number): void;
}

export interface DecodedAudio {
  /** One 16 kHz mono channel, owning its whole buffer (transferable). */
  channels: [Float32Array];
  sampleRate: typeof TARGET_RATE;
  /** Seconds of source audio. */
  duration: number;
  /** The upload's own rate and channel count. */
  sourceRate: number;
  sourceChannels: number;
  /** Multiply-adds the rate conversion took (grows with the source rate; bounded per second of audio). */
  resampleWork: number;
}

/** WAV frames converted per piece: 1 s at 64 kHz, the size of the pieces other decoders give. */
const WAV_PIECE_FRAMES = 65536;

export async function decodeAudio(bytes: Uint8Array, opts: DecodeOptions): Promise<DecodedAudio> {
  if (bytes.length === 0) throw emptyAudio('no bytes were uploaded');
  const format = detectFormat(bytes);
  const text = format ? null : describeTextUpload(bytes);
  if (text) throw unsupportedAudio(`the upload is ${text}, not audio; playlists and manifests that point at other files are not accepted, upload the audio itself`);
  if (!format) throw unsupportedAudio('the file is not WAV, MP3, FLAC, Ogg (Vorbis/Opus), MP4/M4A, WebM or MPEG audio');
  const declared = probeDuration(bytes);
  if (declared !== null && declared > opts.maxDurationS) throw audioTooLong(declared, opts.maxDurationS);

  const sink = new MonoSink(sourceName(format), opts.maxDurationS, opts.signal, opts.onProgress, opts.onCommit);
  try {
    await decodeInto(sink, bytes, format, opts);
  } catch (err) {
    sink.discard();
    throw err;
  }
  const { samples, sourceRate, sourceChannels, duration } = sink.finish();
  if (samples.length === 0) throw emptyAudio('the file decodes to no samples');
  return { channels: [samples], sampleRate: TARGET_RATE, duration, sourceRate, sourceChannels, resampleWork: sink.resampleWork };
}

const sourceName = (format: AudioFormat) => (format.decoder === 'ffmpeg' ? format.container : format.decoder.toUpperCase());

/** The length is counted first (cheaply) where the bytes do not bound it: a plain WAV's frames are its bytes. */
async function decodeInto(sink: MonoSink, bytes: Uint8Array, format: AudioFormat, opts: DecodeOptions): Promise<void> {
  const viaFfmpeg = async (input: FfmpegInput) => {
    await checkDecodedLength(bytes, input, opts);
    return decodeWithFfmpeg(bytes, input, sink, opts);
  };
  switch (format.decoder) {
    case 'wav': {
      const layout = readWavLayout(bytes);
      if (!isPlainWav(layout)) return viaFfmpeg({ container: `WAV format ${layout.formatTag}`, demuxer: 'wav' });
      const frames = layout.dataBytes / layout.blockAlign;
      for (let from = 0; from < frames; from += WAV_PIECE_FRAMES) {
        sink.add(decodeWavSamples(bytes, layout, from, Math.min(WAV_PIECE_FRAMES, frames - from)), layout.sampleRate);
        await new Promise(setImmediate); // other requests in this worker decode between pieces
      }
      return;
    }
    case 'ffmpeg':
      return viaFfmpeg(format);
    default:
      await checkFramesLength(format.decoder, bytes, opts.maxDurationS, opts.signal);
      return decodeWithWasm(format.decoder, bytes, sink, opts.signal);
  }
}
