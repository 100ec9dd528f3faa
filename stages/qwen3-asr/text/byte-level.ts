// Byte-level BPE spells every byte as one printable character (GPT-2's
// bytes_to_unicode table, which Qwen2's tokenizer uses): printable Latin-1 bytes
// stand for themselves, the other 68 bytes for U+0100.. in byte order. Reading a
// token's vocabulary string back through the table gives its exact bytes, which
// decode() cannot: a token holding half a character decodes to U+FFFD.

/** Character code → byte. */
const CHAR_TO_BYTE = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map = new Map<number, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) map.set(printable(b) ? b : 256 + shifted++, b);
  return map;
})();

/** The bytes a byte-level token string stands for; undefined when a character is outside the table. */
export function byteLevelBytes(token: string): number[] | undefined {
  const bytes: number[] = [];
  for (const char of token) {
    const byte = CHAR_TO_BYTE.get(char.codePointAt(0)!);
    if (byte === undefined) return undefined;
    bytes.push(byte);
  }
  return bytes;
}
