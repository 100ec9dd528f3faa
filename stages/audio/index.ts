// The audio front end's pure functions, for code outside the stage workers.
export { decodeAudio, type DecodedAudio, type DecodeOptions } from './decode.js';
export { probeDuration } from './probe.js';
export { detectFormat, type AudioFormat } from './sniff.js';
export { downmixToMono, normalizePeak, resample, resampleTo16kMono } from './resample.js';
export { whisperLogMel, slaneyMelFilters, type LogMel } from './mel.js';
export { splitAtQuietPoints, type SegmentBounds, type SplitOptions } from './segment.js';
export * from './errors.js';
