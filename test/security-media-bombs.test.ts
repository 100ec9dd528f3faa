// Issue 11: refusing an over-long upload costs a cheap pass over its bytes, never the decode and
// resampling of the cap's worth of audio. A 369 KB FLAC of 4 h of 48 kHz stereo silence that does
// not declare its length cost 190 s of one core before its 400 (decoded and resampled up to the
// 3 h cap): four of them held every decode slot for minutes. Through the real server, each bomb
// below must get its 400 with the decode stage's progress counter (source seconds decoded and
// resampled, published by the worker) unmoved: the refusal came from counting frame headers or
// from ffmpeg's decode into nothing, before our decode began. Cap 600 s so that a regression
// (resampling up to the cap) shows as 600 s of progress in seconds rather than minutes.
import t from 'tap';
import { buildConstantFlac, wavWrappedFlac } from './fixtures/audio/flac-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const CAP_S = 600;
const server = await startTinyServer({ overrides: [['stages.decode.options.max_duration_s', String(CAP_S)]] });
t.teardown(() => server.close());

const decodeMetrics = () => server.pipeline.stageMetrics?.().decode ?? {};

async function post(bytes: Uint8Array): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '2');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const body = (await res.json()) as { error?: { code: string; param: string } };
  return `${res.status} ${body.error?.code} ${body.error?.param}`;
}

const hours = (h: number, declaredSamples: number) => buildConstantFlac({ seconds: h * 3600, declaredSamples, sampleRate: 48000, channels: 2 });
const bombs: [string, Uint8Array][] = [
  ['FLAC, 4 h undeclared (STREAMINFO total 0)', hours(4, 0)],
  ['FLAC, 4 h declaring 1 s in STREAMINFO', hours(4, 48000)],
  ['FLAC, 1 h declaring 60 s, 8 kHz mono', buildConstantFlac({ seconds: 3600, declaredSamples: 60 * 8000 })],
  ['FLAC in WAV 0xF1AC, 4 h (ffmpeg; WAV header sizes say nothing of the length)', wavWrappedFlac(hours(4, 0))],
];

t.test('warm-up: a short upload is decoded and counted', async (t) => {
  t.equal(await post(buildConstantFlac({ seconds: 4.096, declaredSamples: 0 })), '200 undefined undefined');
  t.equal(decodeMetrics().source_s_resampled, 4.096, 'the progress counter counts source seconds');
});

for (const [name, bytes] of bombs) {
  t.test(`${name}: refused before any decode work`, async (t) => {
    const before = decodeMetrics().source_s_resampled;
    t.type(before, 'number');
    t.equal(await post(bytes), '400 audio_too_long file');
    t.equal(decodeMetrics().source_s_resampled, before, 'not one source second was decoded and resampled');
    t.equal(decodeMetrics().decodes_running, 0);
  });
}

t.test('a file just under the cap is still decoded in full', async (t) => {
  const before = { ...decodeMetrics() };
  const seconds = Math.floor((CAP_S * 8000) / 32768) * (32768 / 8000); // whole 32768-sample frames at 8 kHz
  t.equal(await post(buildConstantFlac({ seconds, declaredSamples: 0 })), '200 undefined undefined');
  const after = decodeMetrics();
  const resampled = after.source_s_resampled - before.source_s_resampled;
  t.ok(resampled > CAP_S - 10, `${resampled} s of ${seconds} s decoded and resampled`);
  t.ok(Math.abs(resampled - (after.decoded_audio_s - before.decoded_audio_s)) < 1e-6, 'all the decoded audio went through the resampler');
});
