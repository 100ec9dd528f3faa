// Uploads that are text. No accepted audio format is: each starts with binary header
// fields (sizes, flags, sync words) that hold control bytes within a few dozen bytes.
// Playlists and manifests (DASH MPD, HLS m3u8, ffconcat and concat lists, SDP, PLS, SMIL,
// lists of URLs) are text that names other files for a player to open: they match no audio
// signature and are refused before any decoder sees them, with a message saying what they
// look like (text behind a signature goes only to that format's own pinned decoder).

/** Bytes looked at: 512 bytes of binary audio without a control byte do not happen (P < e^-60). */
const WINDOW = 512;

const KINDS: [RegExp, string][] = [
  [/<MPD[\s>]/i, 'a DASH manifest'],
  [/#EXTM3U|#EXT-X-|#EXTINF/i, 'an HLS/M3U playlist'],
  [/^\s*ffconcat\b/im, 'an ffconcat list'],
  [/^\s*file\s+\S/m, 'a concat list'],
  [/^v=0\s*$[\s\S]*^[osm]=/m, 'an SDP session description'],
  [/^\s*\[playlist\]/im, 'a PLS playlist'],
  [/<(smil|asx|playlist|xspf)\b/i, 'an XML playlist'],
  [/\b[a-z][a-z0-9+.-]*:\/\/|\b(file|data|subfile|concat|tee|pipe|cache|crypto|async|hls|fd):/i, 'a list of URLs'],
];

const isControl = (byte: number) => byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f;

/** What a text upload looks like ('a DASH manifest', 'text'...), or null when the upload is binary. */
export function describeTextUpload(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, WINDOW);
  if (head.some(isControl)) return null;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  for (const [pattern, kind] of KINDS) if (pattern.test(text)) return kind;
  return 'text';
}
