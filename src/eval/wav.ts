// Reads a RIFF/WAVE header to get the clip's duration without decoding it.

/**
 * Duration in seconds from the fmt and data chunks, or null when the bytes are
 * not a WAV file this can measure (other containers get the server's usage.seconds).
 */
export function wavDurationSeconds(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let byteRate = 0;
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    if (id === 'fmt ' && at + 16 <= bytes.length) byteRate = view.getUint32(at + 16, true);
    if (id === 'data') {
      if (byteRate === 0) return null;
      // streamed WAVs carry a 0 or 0xFFFFFFFF size; the rest of the file is the data then
      const dataBytes = size === 0 || size === 0xffffffff ? bytes.length - at - 8 : Math.min(size, bytes.length - at - 8);
      return dataBytes / byteRate;
    }
    at += 8 + size + (size % 2); // chunks are padded to even sizes
  }
  return null;
}
