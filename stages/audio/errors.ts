// Named errors of the audio front end. Every one concerns the uploaded `file`,
// so the router can point the client at the request field that was wrong. Each
// raises a kind; the server picks the status (src/server/errors.ts).
import { StageError } from '../../src/runtime/contracts.js';
import { cancelledError } from '../../src/runtime/errors.js';

export { badPayload } from '../../src/runtime/errors.js';

export const ERR_AUDIO_EMPTY = 'ERR_AUDIO_EMPTY';
export const ERR_AUDIO_UNSUPPORTED = 'ERR_AUDIO_UNSUPPORTED';
export const ERR_AUDIO_DECODE = 'ERR_AUDIO_DECODE';
export const ERR_AUDIO_TOO_LONG = 'ERR_AUDIO_TOO_LONG';
export const ERR_AUDIO_TOO_SHORT = 'ERR_AUDIO_TOO_SHORT';

export const emptyAudio = (why: string) => new StageError(ERR_AUDIO_EMPTY, `Audio file is empty: ${why}`, 'invalid_input', 'file');
export const unsupportedAudio = (why: string) => new StageError(ERR_AUDIO_UNSUPPORTED, `Unsupported audio format: ${why}`, 'unsupported_media', 'file');
export const undecodableAudio = (why: string) => new StageError(ERR_AUDIO_DECODE, `Could not decode audio file: ${why}`, 'invalid_input', 'file');
export const audioTooShort = (why: string) => new StageError(ERR_AUDIO_TOO_SHORT, `Audio file is too short: ${why}`, 'invalid_input', 'file');

export function audioTooLarge(channels: number, sampleRate: number, maxS: number): StageError {
  return new StageError(ERR_AUDIO_TOO_LONG, `Audio file decodes to more samples (${channels} channels at ${sampleRate} Hz) than ${maxS} s of 48 kHz stereo; the limit is set in those terms`, 'too_long', 'file');
}

/** decodedSoFar: decoding stopped at durationS, past the limit, before the end of the file. */
export function audioTooLong(durationS: number, maxS: number, { decodedSoFar = false } = {}): StageError {
  const length = decodedSoFar ? `at least ${durationS.toFixed(1)} s long` : `${durationS.toFixed(1)} s long`;
  return new StageError(ERR_AUDIO_TOO_LONG, `Audio file is ${length}; the limit is ${maxS} s`, 'too_long', 'file');
}

/** Stops a decode whose request was cancelled (the client went away): the caller frees what it holds. */
export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw cancelledError();
}
