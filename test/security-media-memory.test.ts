// Issue 11, item 3: decompression bombs sent at once to the real server hold memory in
// proportion to what they decode to (16 kHz mono up to the cap), not to their source layout,
// and give it back. Cap 600 s here so the bombs are quick: each may hold 600 s × 64 KB/s =
// 37.5 MB of output, given back at the refusal. Measured here on a shared 2-core machine: peak
// idle + 90..99 MB, after idle − 64..+40 MB; at 5b77086 the same four gave +406 MB and kept +391 MB.
import t from 'tap';
import { buildConstantFlac } from './fixtures/audio/flac-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const MB = 2 ** 20;
const server = await startTinyServer({ overrides: [['stages.decode.options.max_duration_s', '600']] });
t.teardown(() => server.close());

async function post(bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '4');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: AbortSignal.timeout(120_000) });
  const body = (await res.json()) as { error?: { code: string } };
  return `${res.status} ${body.error?.code}`;
}

t.test('four bombs at once: peak and retained RSS bounded by their 16 kHz output', async (t) => {
  await post(buildConstantFlac({ seconds: 2, declaredSamples: 0 })); // warm-up: workers and decoders loaded
  const idle = process.memoryUsage().rss;
  // 1 h of 48 kHz stereo (346 M samples, 1.3 GB as floats) and 8 channels at 48 kHz, none declared
  const bombs = [
    buildConstantFlac({ seconds: 3600, declaredSamples: 0, sampleRate: 48000, channels: 2 }),
    buildConstantFlac({ seconds: 3600, declaredSamples: 0, sampleRate: 48000, channels: 2 }),
    buildConstantFlac({ seconds: 1000, declaredSamples: 0, sampleRate: 48000, channels: 8 }),
    buildConstantFlac({ seconds: 1000, declaredSamples: 0, sampleRate: 48000, channels: 8 }),
  ];
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const answers = await Promise.all(bombs.map(post));
  clearInterval(timer);
  t.same(answers, Array(4).fill('400 audio_too_long'), 'all refused past the cap');
  const peakMb = (peak - idle) / MB;
  t.ok(peakMb < 250, `peak RSS idle + ${peakMb.toFixed(0)} MB < idle + 250 MB (4 × 37.5 MB of output)`);
  // not synchronisation: worker threads collect freed buffers on their own schedule, unobservable from here
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const afterMb = (process.memoryUsage().rss - idle) / MB;
  t.ok(afterMb < 100, `RSS after: idle + ${afterMb.toFixed(0)} MB < idle + 100 MB`);
});
