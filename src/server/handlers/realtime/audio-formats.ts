// The input audio formats of OpenAI's realtime API, as samples: PCM16 (little-
// endian, mono, 24 kHz: the only rate OpenAI takes) and G.711 μ-law / A-law
// (8 kHz telephone audio), expanded by ITU-T G.711's rules.

/** Internal names; the wire spells them two ways (realtime-session.ts). */
export type AudioFormat = 'pcm16' | 'g711_ulaw' | 'g711_alaw';

export const PCM16_RATE = 24_000;
/** The rate every session's audio is resampled to, the model's (audio-worker.ts): what turns and buffers count in. */
export const SAMPLE_RATE = 16_000;

/** Samples in `ms` milliseconds at SAMPLE_RATE. */
export function samplesIn(ms: number): number {
  return (ms * SAMPLE_RATE) / 1000;
}
const G711_RATE = 8_000;

export function sourceRate(format: AudioFormat): number {
  return format === 'pcm16' ? PCM16_RATE : G711_RATE;
}

/** Bytes one second of the format takes. */
export function bytesPerSecond(format: AudioFormat): number {
  return format === 'pcm16' ? PCM16_RATE * 2 : G711_RATE;
}

export function pcm16ToFloat(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32768;
  return out;
}

function ulaw(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / 32768;
}

function alaw(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a & 0x70) >> 4;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (a & 0x80 ? magnitude : -magnitude) / 32768;
}

const tables = {
  g711_ulaw: Float32Array.from({ length: 256 }, (_, b) => ulaw(b)),
  g711_alaw: Float32Array.from({ length: 256 }, (_, b) => alaw(b)),
};

export function expandG711(bytes: Uint8Array, format: 'g711_ulaw' | 'g711_alaw'): Float32Array {
  const table = tables[format];
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]];
  return out;
}
