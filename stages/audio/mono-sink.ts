// Where every decoder puts its output, chunk by chunk as it decodes: each chunk is
// downmixed (mean of the channels) and resampled to 16 kHz at once, so a request never
// holds its audio at the source's rate and channel count. Memory for one decode is the
// 16 kHz mono result (64 KB per second of audio: 691 MB at the 3 h cap), in one buffer
// that reserves address space for the cap and commits pages as the audio grows, plus
// one decoded chunk; a layout that would cost more is refused as the chunks arrive.
import { audioTooLarge, audioTooLong, throwIfCancelled, undecodableAudio } from './errors.js';
import { checkPcmLayout } from './layout.js';
import { Resampler, TARGET_RATE } from './resample.js';

/**
 * Decoded samples (all channels) allowed per second of the duration cap: 48 kHz stereo, the
 * largest layout speech is recorded in. Decoding and resampling cost grows with them, so
 * many channels at a high rate are refused before the cap's worth of them is decoded.
 */
const SAMPLES_PER_CAP_SECOND = 2 * 48000;
/** Committed output grows by this factor (the reservation is the cap; pages are committed as written). */
const GROWTH = 1.5;
const FIRST_COMMIT_SAMPLES = 30 * TARGET_RATE;

/** ES2024's resizable ArrayBuffer: Node 20 has it, the TypeScript lib this project targets does not declare it. */
interface ResizableBuffer extends ArrayBuffer {
  readonly maxByteLength: number;
  resize(byteLength: number): void;
}
const ResizableBuffer = ArrayBuffer as unknown as new (byteLength: number, opts: { maxByteLength: number }) => ResizableBuffer;

export interface MonoAudio {
  /** 16 kHz mono. */
  samples: Float32Array;
  /** The source's rate and channel count. */
  sourceRate: number;
  sourceChannels: number;
  /** Seconds of source audio. */
  duration: number;
}

export class MonoSink {
  private resampler: Resampler | undefined;
  private channels = 0;
  private sampleRate = 0;
  /** Source frames received. */
  frames = 0;
  private readonly output: ResizableBuffer;
  private written = 0;
  private mono = new Float32Array(0);

  constructor(
    private readonly sourceName: string,
    private readonly maxDurationS: number,
    /** Aborted when the request is cancelled: the next piece throws, and the caller discards the sink. */
    private readonly signal?: AbortSignal,
    /** Told the seconds of source audio taken so far, after each piece. */
    private readonly onProgress?: (sourceSeconds: number) => void,
    /** Told the byte length the output is about to commit, before it does; throws to refuse it (decode-budget.ts). */
    private readonly onCommit?: (byteLength: number) => void,
  ) {
    const maxSamples = Math.ceil(maxDurationS * TARGET_RATE) + TARGET_RATE; // +1 s: resampler rounding, the refusal margin
    this.output = new ResizableBuffer(0, { maxByteLength: maxSamples * 4 });
  }

  /** Multiply-adds the resampler has spent (the part of the cost that depends on the source rate). */
  get resampleWork(): number {
    return this.resampler?.multiplyAdds ?? 0;
  }

  /** Takes `frames` frames of planar samples; throws once the stream passes the cap, changes layout or is cancelled. */
  add(planes: Float32Array[], sampleRate: number, frames = planes[0]?.length ?? 0): void {
    throwIfCancelled(this.signal);
    if (frames === 0 || planes.length === 0) return;
    if (!this.resampler) {
      checkPcmLayout(sampleRate, planes.length); // before an absurd layout decodes far
      this.resampler = new Resampler(sampleRate, TARGET_RATE);
      this.channels = planes.length;
      this.sampleRate = sampleRate;
    } else if (planes.length !== this.channels || sampleRate !== this.sampleRate) {
      throw undecodableAudio(`${this.sourceName} stream changes from ${this.channels} channels at ${this.sampleRate} Hz to ${planes.length} at ${sampleRate} Hz`);
    }
    this.frames += frames;
    if (this.frames > this.maxDurationS * sampleRate) throw audioTooLong(this.frames / sampleRate, this.maxDurationS, { decodedSoFar: true });
    if (this.frames * this.channels > this.maxDurationS * SAMPLES_PER_CAP_SECOND) throw audioTooLarge(this.channels, sampleRate, this.maxDurationS);
    this.store(this.resampler.push(this.downmix(planes, frames)));
    this.onProgress?.(this.frames / sampleRate);
  }

  /** The 16 kHz mono audio; the sink is spent afterwards. */
  finish(): MonoAudio {
    if (this.resampler) this.store(this.resampler.finish());
    this.output.resize(this.written * 4);
    return { samples: new Float32Array(this.output), sourceRate: this.sampleRate, sourceChannels: this.channels, duration: this.frames / this.sampleRate };
  }

  /** Gives the output's memory back now: an idle worker may not collect garbage for a long time,
   *  and a refused bomb has committed up to the cap (measured: 650 MB still held 3 s after). */
  discard(): void {
    this.output.resize(0);
  }

  /** Mean of the channels, with NaN and ±Infinity (corrupt float data) counted as 0. */
  private downmix(planes: Float32Array[], frames: number): Float32Array {
    if (this.mono.length < frames) this.mono = new Float32Array(frames);
    const mono = this.mono.subarray(0, frames);
    const scale = 1 / planes.length;
    if (planes.length === 1) {
      const plane = planes[0];
      for (let i = 0; i < frames; i++) mono[i] = Number.isFinite(plane[i]) ? plane[i] : 0;
      return mono;
    }
    mono.fill(0);
    for (const plane of planes) for (let i = 0; i < frames; i++) if (Number.isFinite(plane[i])) mono[i] += plane[i] * scale;
    return mono;
  }

  private store(samples: Float32Array): void {
    const needed = (this.written + samples.length) * 4;
    if (needed > this.output.byteLength) {
      const grown = Math.max(needed, Math.ceil(this.output.byteLength * GROWTH), FIRST_COMMIT_SAMPLES * 4);
      // past the reservation the audio is over the cap: the frame checks refuse it first, this is the backstop
      if (needed > this.output.maxByteLength) throw audioTooLong(this.frames / this.sampleRate, this.maxDurationS, { decodedSoFar: true });
      const byteLength = Math.min(grown, this.output.maxByteLength);
      this.onCommit?.(byteLength);
      this.output.resize(byteLength);
    }
    new Float32Array(this.output, this.written * 4, samples.length).set(samples);
    this.written += samples.length;
  }
}
