// A live turn's partials through the whole pipeline (pipelines/qwen3-asr.yaml,
// tiny checkpoint, fp32), as the realtime session sends them: jfk.wav growing
// 2 s at a time, each partial forcing the previous text (answer_prefix, 5
// tokens unfixed from the third on). With the reuse caches on (the defaults)
// and with all three off, every partial gives the same tokens and text; with
// them on, the encoder's window counter and the decoder's prefix counters show
// the work that was not redone (a prompt is kept only by a request that forces
// an answer start: the first two partials' are not).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Override } from '../src/config/document.js';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Payload, Pipeline } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';
import { waitFor } from './fixtures/stages/pipeline-helper.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-asr-reuse-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelPath = path.join(dir, 'tiny');
await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 3 });

/** jfk.wav's PCM16 samples (16 kHz mono) and a WAV of its first `seconds`. */
const jfk = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
const pcm = jfk.subarray(jfk.indexOf('data') + 8);
function wavOf(seconds: number): ArrayBuffer {
  const data = pcm.subarray(0, Math.min(pcm.length, Math.round(seconds * 16000) * 2));
  const out = Buffer.alloc(44 + data.length);
  out.write('RIFF', 0); out.writeUInt32LE(36 + data.length, 4); out.write('WAVEfmt ', 8);
  out.writeUInt32LE(16, 16); out.writeUInt16LE(1, 20); out.writeUInt16LE(1, 22); out.writeUInt32LE(16000, 24);
  out.writeUInt32LE(32000, 28); out.writeUInt16LE(2, 32); out.writeUInt16LE(16, 34);
  out.write('data', 36); out.writeUInt32LE(data.length, 40); data.copy(out, 44);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}
const PARTIALS = [2, 4, 6, 8, 9.5, 11];

async function start(overrides: Override[]): Promise<Pipeline> {
  const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
    overrides: [
      ['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'],
      ['stages.encoder.options.precision', 'fp32'], ['stages.decoder.options.precision', 'fp32'],
      ['stages.decoder.options.max_running', '4'], ['stages.decoder.options.max_context', '512'],
      ...overrides,
    ],
  });
  const pipeline = createPipeline(resolved, { modelPath, cacheDir: path.join(dir, 'cache') });
  t.teardown(() => pipeline.close());
  await pipeline.ready();
  return pipeline;
}

/** The partials of one turn, in order, each forcing the previous text as the session does. */
async function turn(pipeline: Pipeline): Promise<Payload[]> {
  const out: Payload[] = [];
  let previous = '';
  for (const [k, seconds] of PARTIALS.entries()) {
    const prefix = k >= 2 && previous ? { answer_prefix: previous, answer_prefix_unfixed_tokens: 5 } : {};
    const params = { temperature: 0, stream: false, response_format: 'json', language: 'en', max_new_tokens: 32, ...prefix };
    const result = await pipeline.submit({ audio: wavOf(seconds), filename: 'turn.wav', contentType: 'audio/wav', params });
    previous = result.text as string;
    out.push(result);
  }
  return out;
}

t.test('partials with reuse = partials without; the counters show what was not redone', async (t) => {
  const reusing = await start([]);
  const plain = await start([
    ['stages.encoder.options.window_cache_mb', '0'], ['stages.encoder.options.cache_entries', '0'], ['stages.decoder.options.prefix_cache_mb', '0'],
  ]);
  const withReuse = await turn(reusing);
  const without = await turn(plain);
  const view = (r: Payload) => ({ text: r.text, tokens: (r.segments as { tokens: number[] }[]).map((s) => s.tokens), forced: r.forced_text });
  t.same(withReuse.map(view), without.map(view), 'same tokens, text and forced text for every partial');
  t.ok(withReuse.slice(2).every((r) => typeof r.forced_text === 'string'), 'partials from the third on forced a start');

  const HITS = PARTIALS.length - 3; // partials 4..6 start from the one before; 3 had none kept before it
  await waitFor(() => (reusing.stageMetrics!().decoder?.prefix_hits ?? 0) >= HITS && (reusing.stageMetrics!().encoder?.batches ?? 0) >= PARTIALS.length);
  const { encoder, decoder } = reusing.stageMetrics!();
  // 9.5 s and 11 s hold one complete 8 s window; the 9.5 s partial's (no reflect padding at its edge) serves the 11 s one.
  t.equal(encoder.windows_reused, 1, 'the 11 s partial took window 0 from the cache');
  t.equal(decoder.prefix_hits, HITS, 'every partial after the first that forced a start began from a kept prompt');
  const { codec, audioTokenId } = loadAsrText(modelPath);
  const systemTurn = codec.promptIds('', 1, 'English').indexOf(audioTokenId);
  t.equal(decoder.prefix_reused_tokens, HITS * systemTurn + 104, `${decoder.prefix_reused_tokens} prompt positions not prefilled again: the system turn (${systemTurn}) each time, window 0's 104 audio rows once`);
  // Counters are published once a second: wait for the publication that holds every partial's prefill.
  await waitFor(() => (plain.stageMetrics!().decoder?.prefill_calls ?? 0) >= PARTIALS.length);
  t.equal(decoder.prefill_tokens + decoder.prefix_reused_tokens, plain.stageMetrics!().decoder.prefill_tokens, 'prefilled + reused = what the plain pipeline prefilled');
  t.equal(plain.stageMetrics!().encoder.windows_reused, 0);
});
