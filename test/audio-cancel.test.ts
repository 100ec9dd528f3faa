// A client that hangs up stops its decode (issue 11): through the real server on the tiny
// checkpoint, a 2 h upload (under the cap, so it is decoded and resampled in full: ~2 min of one
// core here) is abandoned once the decode stage is resampling it. The stage's own metrics, which
// the worker publishes as each decode and each ffmpeg child starts and ends (and as a decode
// progresses), must show the decode stopped on the cancel and the ffmpeg child exited, long
// before the decode could have ended on its own. Before the fix the decode ran on to the end,
// the ffmpeg child with it.
import t from 'tap';
import { buildConstantFlac, wavWrappedFlac } from './fixtures/audio/flac-writer.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';
import { waitFor } from './fixtures/stages/pipeline-helper.js';

const server = await startTinyServer();
t.teardown(() => server.close());

const decodeMetrics = () => server.pipeline.stageMetrics?.().decode ?? {};
/** Source seconds the decode stage has decoded and resampled, for all its requests. */
const resampled = () => decodeMetrics().source_s_resampled ?? 0;
/** Well under the ~2 min the whole decode takes on this machine. */
const STOP_WITHIN_MS = 20_000;

function post(bytes: Uint8Array, signal: AbortSignal): Promise<number> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'long-audio');
  form.append('model', TINY_MODEL_NAME);
  return fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form, signal }).then((res) => res.status);
}

const twoHours = buildConstantFlac({ seconds: 7200, declaredSamples: 7200 * 48000, sampleRate: 48000, channels: 2 });
const cases: [string, Uint8Array, boolean][] = [
  ['FLAC (WASM decoder)', twoHours, false],
  ['FLAC in WAV 0xF1AC (ffmpeg child)', wavWrappedFlac(twoHours), true],
];

for (const [name, bytes, viaFfmpeg] of cases) {
  t.test(`leaving mid-decode stops the decode: ${name}`, async (t) => {
    const before = { ...decodeMetrics() };
    const client = new AbortController();
    const answer = post(bytes, client.signal).catch((err: Error) => err.name);
    // the length check has passed and the decode is resampling (through ffmpeg's output for the container)
    await waitFor(() => resampled() > (before.source_s_resampled ?? 0) + 10 && (!viaFfmpeg || decodeMetrics().ffmpeg_running === 1), 60_000);

    client.abort();
    t.equal(await answer, 'AbortError', 'the client left');
    await waitFor(() => decodeMetrics().decodes_running === 0, STOP_WITHIN_MS);
    const after = decodeMetrics();
    t.equal(after.decodes_cancelled, (before.decodes_cancelled ?? 0) + 1, 'the decode stopped because of the cancel');
    t.equal(after.ffmpeg_running, 0, 'no ffmpeg child is left running (it was killed and has exited)');
    t.equal(after.decoded_audio_s ?? 0, before.decoded_audio_s ?? 0, 'no decode ran to its end');
    const stoppedAt = resampled() - (before.source_s_resampled ?? 0);
    t.ok(stoppedAt < 7200 / 2, `stopped ${stoppedAt.toFixed(0)} s into the 7200 s upload`);
  });
}

t.test('the decode stage serves the next upload once the cancelled ones have stopped', async (t) => {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(buildConstantFlac({ seconds: 4.096, declaredSamples: 0 }))]), 'short.flac'); // one 32768-sample frame at 8 kHz
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '2');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(res.status, 200);
  t.equal(decodeMetrics().decoded_audio_s, 4.096, 'only this upload was decoded to its end');
});
