// Decompression bombs sent concurrently to the real server (tiny checkpoint, shipped pipeline,
// 3 h cap), with the process RSS sampled every 10 ms: idle baseline, peak, and after (all
// answered, then 3 s). Issue 11 at 5b77086: the 4 h FLAC took RSS 200 MB → 4.3 GB
// and kept it; four 1000 s 8-channel FLACs peaked at 8.4 GB and kept 5.2 GB.
//   node dist/bench/decode-memory.js
import { startTinyServer, TINY_MODEL_NAME } from '../test/fixtures/server/tiny-server.js';
import { buildConstantFlac } from '../test/fixtures/audio/flac-writer.js';

const MB = 2 ** 20;
const server = await startTinyServer();

/** The FLAC stream inside a WAV with format tag 0xF1AC, which sends it to ffmpeg. */
function wavWrapped(flac: Uint8Array): Uint8Array {
  const out = new Uint8Array(44 + flac.length + (flac.length & 1));
  const dv = new DataView(out.buffer);
  const put = (at: number, s: string) => out.set(new TextEncoder().encode(s), at);
  put(0, 'RIFF'), dv.setUint32(4, out.length - 8, true), put(8, 'WAVE'), put(12, 'fmt '), dv.setUint32(16, 16, true);
  dv.setUint16(20, 0xf1ac, true), dv.setUint16(22, 2, true), dv.setUint32(24, 48000, true), dv.setUint32(28, 192000, true);
  dv.setUint16(32, 4, true), dv.setUint16(34, 16, true), put(36, 'data'), dv.setUint32(40, flac.length, true);
  out.set(flac, 44);
  return out;
}

async function post(bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '4');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const body = (await res.json()) as { error?: { code: string } };
  return `${res.status}${body.error ? ` ${body.error.code}` : ''}`;
}

const settle = async () => {
  await new Promise((resolve) => setTimeout(resolve, 3000)); // worker threads collect on their own schedule
  return process.memoryUsage().rss;
};

const fourHours = buildConstantFlac({ seconds: 4 * 3600, declaredSamples: 0, sampleRate: 48000, channels: 2 });
const wide = buildConstantFlac({ seconds: 1000, declaredSamples: 0, sampleRate: 48000, channels: 8 });
const cases: [string, Uint8Array[]][] = [
  ['4 h 48 kHz stereo FLAC, undeclared', [fourHours]],
  ['same stream as WAV 0xF1AC (ffmpeg)', [wavWrapped(fourHours)]],
  ['4 x 1000 s 8 ch 48 kHz FLAC at once', [wide, wide, wide, wide]],
  ['2 x 4 h FLAC + 2 x WAV 0xF1AC at once', [fourHours, fourHours, wavWrapped(fourHours), wavWrapped(fourHours)]],
];
await post(buildConstantFlac({ seconds: 2, declaredSamples: 0 })); // warm-up: workers, decoders, graphs
const idle = await settle();
const rows = [];
for (const [name, uploads] of cases) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  const statuses = await Promise.all(uploads.map(post));
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  const after = await settle();
  rows.push({
    case: name,
    'upload KB': Math.round(uploads[0].length / 1024),
    answers: [...new Set(statuses)].join(', '),
    's': +seconds.toFixed(1),
    'peak - idle MB': Math.round((peak - idle) / MB),
    'after - idle MB': Math.round((after - idle) / MB),
  });
}
console.log(`idle RSS ${Math.round(idle / MB)} MB (${process.version})`);
console.table(rows);
await server.close();
