// Reading tags out of file headers.

/** `length` bytes at `at` as Latin-1 text; '' when they run past the end. */
export const ascii = (bytes: Uint8Array, at: number, length: number): string =>
  at >= 0 && at + length <= bytes.length ? String.fromCharCode(...bytes.subarray(at, at + length)) : '';
