// Bounds on the layout decoded audio may have, whatever the container claims:
// codec headers can hold rates and channel counts no recording has (1 Hz, 255
// channels), and the WAV reader's bounds apply to every format.
import { undecodableAudio } from './errors.js';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './wav.js';

/** Throws a 400 unless `sampleRate` and `channels` are within what the front end accepts. */
export function checkPcmLayout(sampleRate: number, channels: number): void {
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE)
    throw undecodableAudio(`the stream's sample rate is ${sampleRate} Hz (${MIN_SAMPLE_RATE}..${MAX_SAMPLE_RATE} supported)`);
  if (channels < 1 || channels > MAX_CHANNELS) throw undecodableAudio(`the stream has ${channels} channels (1..${MAX_CHANNELS} supported)`);
}
