// The cheap pass before decoding: how long the upload's audio really is, from the codec's own
// frame headers, so that an over-long upload is refused for the cost of reading its headers and
// not of decoding and resampling hours of audio (issue 11: a 369 KB FLAC of 4 h of 48 kHz stereo
// silence with no declared length cost 190 s of one core before its refusal; counting its frame
// headers takes ~0.3 s). STREAMINFO, Xing or a last Ogg granule may be absent or may lie; the
// frames cannot, because these are the frames the decoders are fed: codec-parser splits FLAC for
// wasm-codecs.ts and Ogg for the Vorbis and Opus decoders. mpg123 finds MP3 frames itself, but an
// MP3 frame is at least 24 bytes for 1152 samples, so its count here is a first check and the
// sink's cap the backstop. The count's cost grows with the upload's bytes, not with the audio they claim.
// Containers go through ffmpeg's own decode into nothing (ffmpeg.ts, checkDecodedLength).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import CodecParser from 'codec-parser';
import { StageError } from '../../src/runtime/contracts.js';
import { audioTooLong, throwIfCancelled, undecodableAudio } from './errors.js';
import { checkPcmLayout } from './layout.js';
import type { WasmCodec } from './wasm-codecs.js';

const MIME: Record<WasmCodec, 'audio/flac' | 'audio/mpeg' | 'audio/ogg'> = { flac: 'audio/flac', mp3: 'audio/mpeg', vorbis: 'audio/ogg', opus: 'audio/ogg' };
/** Bytes parsed per call, as the decoders are fed. */
const FEED_BYTES = 4096;
/** Frames counted between yields to the worker's event loop (~5 ms): other requests and a cancel get their turn. */
const YIELD_EVERY_FRAMES = 4096;

interface CodecFrame {
  samples: number;
  header: { sampleRate: number; channels?: number };
}
/** An Ogg page carries its codec's frames; FLAC and MPEG frames come alone. */
type ParsedFrame = CodecFrame & { codecFrames?: CodecFrame[] };

/**
 * Throws ERR_AUDIO_TOO_LONG as soon as the frames counted so far pass `maxDurationS`, and the
 * request's cancellation as soon as it is seen, and ERR_AUDIO_DECODE for a frame whose layout no
 * decode would accept (layout.ts). Seconds are per frame's own rate: a stream whose
 * rate changes midway is refused by the decode itself (mono-sink.ts).
 */
export async function checkFramesLength(codec: WasmCodec, bytes: Uint8Array, maxDurationS: number, signal?: AbortSignal): Promise<void> {
  const parser = new CodecParser(MIME[codec], { enableFrameCRC32: false, enableLogging: false });
  let seconds = 0;
  let counted = 0;
  const count = async (frames: Iterator<ParsedFrame>) => {
    for (let next = frames.next(); !next.done; next = frames.next()) {
      const frame = next.value;
      for (const f of frame.codecFrames ?? [frame]) {
        // An absurd layout (1 Hz, 10 MHz, 300 channels) is the error, as the decode would say, not the length it implies.
        checkPcmLayout(f.header.sampleRate, f.header.channels ?? 1);
        seconds += f.samples / f.header.sampleRate;
      }
      if (seconds > maxDurationS) throw audioTooLong(seconds, maxDurationS, { decodedSoFar: true });
      if (++counted % YIELD_EVERY_FRAMES === 0) {
        await yieldToLoop();
        throwIfCancelled(signal);
      }
    }
  };
  try {
    for (let at = 0; at < bytes.length; at += FEED_BYTES) await count(parser.parseChunk(bytes.subarray(at, at + FEED_BYTES)) as Iterator<ParsedFrame>);
    await count(parser.flush() as Iterator<ParsedFrame>);
  } catch (err) {
    // codec-parser throws plain errors (RangeError, "Out of data while inside an Ogg Page") on
    // damaged pages: that is the upload's fault, a 400 like the decoder's own failures, not a 500.
    if (err instanceof StageError) throw err;
    throw undecodableAudio(`the ${codec} stream's frames could not be read: ${(err as Error).message}`);
  }
}
