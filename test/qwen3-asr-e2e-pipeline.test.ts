// The whole Qwen3-ASR pipeline (pipelines/qwen3-asr.yaml through createPipeline,
// every stage in its worker) on the tiny checkpoint, checked against an
// independent greedy loop over the runners: same token ids, same text, for one
// segment and for long audio cut into several segments with their real times.
// Also: streamed deltas, seeded sampling, bad params, cancellation.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Override } from '../src/config/document.js';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Payload, Pipeline } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';

const MAX_CONTEXT = 512;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-asr-e2e-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelPath = path.join(dir, 'tiny');
const cacheDir = path.join(dir, 'cache');
await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 3 });
const text = loadAsrText(modelPath);

const wavBytes = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
const samples = (await decodeAudio(wavBytes, { maxDurationS: 60 })).channels[0]; // already 16 kHz mono

async function startPipeline(overrides: Override[] = []): Promise<Pipeline> {
  const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
    overrides: [
      ['stages.encoder.threads', '1'],
      ['stages.decoder.threads', '1'],
      ['stages.encoder.options.precision', 'fp32'],
      ['stages.decoder.options.precision', 'fp32'],
      ['stages.decoder.options.max_running', '4'],
      ['stages.decoder.options.max_context', String(MAX_CONTEXT)],
      ['stages.decoder.options.loop_max_period', '0'], // the reference greedy loop below has no loop guard
      ...overrides,
    ],
  });
  const pipeline = createPipeline(resolved, { modelPath, cacheDir });
  await pipeline.ready();
  return pipeline;
}

/** Greedy transcription of `audio` straight on the runners: one sequence, argmax, no scheduler. */
async function reference(audio: Float32Array, kv: { kvCache?: 'float16'; kvInPlace?: true } = {}): Promise<number[]> {
  const opts = { modelPath, cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
  const encoder = await createEncoderRunner(opts);
  const decoder = await createDecoderRunner({ ...opts, ...kv, maxSlots: 1, maxContext: MAX_CONTEXT });
  try {
    const [embeddings] = await encoder.encode([whisperLogMel(audio, 128)]);
    const prompt = text.codec.promptIds('', embeddings.length / encoder.outputDim, undefined);
    const maxNew = Math.min(Math.max(128, Math.ceil((10 * audio.length) / 16000)), MAX_CONTEXT - prompt.length);
    const tokens: number[] = [];
    let logits = await decoder.prefill(0, prompt, embeddings);
    for (;;) {
      const next = logits.indexOf(Math.max(...logits));
      if (text.eosIds.includes(next)) break;
      tokens.push(next);
      if (tokens.length === maxNew) break;
      logits = await decoder.decode([0], Int32Array.of(next));
    }
    return tokens;
  } finally {
    await encoder.dispose();
    await decoder.dispose();
  }
}

function request(params: Payload = {}, bytes: Uint8Array = wavBytes): Payload {
  const audio = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return { audio, filename: 'jfk.wav', contentType: 'audio/wav', params: { temperature: 0, stream: false, response_format: 'json', ...params } };
}

interface Segment { id: number; start: number; end: number; text: string; tokens: number[]; avg_logprob: number; compression_ratio: number; no_speech_prob: number; temperature: number }

t.test('one segment: the pipeline gives the independent greedy loop’s tokens and text', async (t) => {
  const pipeline = await startPipeline();
  t.teardown(() => pipeline.close());
  const expected = await reference(samples);
  const out = await pipeline.submit(request());
  const segments = out.segments as Segment[];
  t.equal(segments.length, 1);
  t.same(segments[0].tokens, expected);
  const parsed = text.codec.parse(text.codec.decode(expected), undefined);
  t.equal(out.text, parsed.text);
  t.equal(out.language, parsed.language);
  t.equal(out.duration, 11);
  t.match(segments[0], { id: 0, start: 0, end: 11, text: parsed.text, temperature: 0 });
  t.ok(segments[0].avg_logprob < 0 && Number.isFinite(segments[0].compression_ratio) && segments[0].no_speech_prob >= 0 && segments[0].no_speech_prob <= 1);
  t.equal(out.filename, 'jfk.wav', 'fields the stages do not consume pass through');
  t.equal(out.mel, undefined);

  // Concurrent identical requests (one encode, four sequences decoded together) agree too.
  const four = await Promise.all([0, 1, 2, 3].map(() => pipeline.submit(request())));
  for (const o of four) t.same((o.segments as Segment[])[0].tokens, expected);

  // Streaming: deltas arrive before the result and, joined, are the transcript (loop copies the cleanup trims are never streamed).
  const deltas: string[] = [];
  const streamed = await pipeline.submit(request({ stream: true }), { onEvent: (e) => deltas.push(e.delta as string) });
  t.equal(streamed.text, out.text);
  t.ok(deltas.length >= 1, `${deltas.length} deltas`);
  t.equal(deltas.join(''), out.text as string);

  // Sampling is reproducible from the seed.
  const sampled = async (seed: number) => ((await pipeline.submit(request({ temperature: 1, seed }))).segments as Segment[])[0].tokens;
  const a = await sampled(11);
  t.same(await sampled(11), a, 'same seed, same tokens');
  t.notSame(await sampled(12), a, 'another seed, other tokens');
  t.notSame(a, expected, 'temperature 1 is not greedy');

  // max_new_tokens from the request.
  t.equal(((await pipeline.submit(request({ max_new_tokens: 5 }))).segments as Segment[])[0].tokens.length, Math.min(5, expected.length));
});

t.test('kv_cache float16 and float32-in-place are served: their own decoder graph, the greedy tokens of a loop on it', async (t) => {
  const graphs = (tag: string) => fs.readdirSync(cacheDir).filter((f) => f.startsWith('qwen3-asr-decoder-') && f.includes(tag));
  for (const [option, kv, tag] of [['float16', { kvCache: 'float16' }, '-kv16-'], ['float32-in-place', { kvInPlace: true }, '-gqa-']] as const) {
    t.same(graphs(tag), [], `no ${tag} graph before`);
    const pipeline = await startPipeline([['stages.decoder.options.kv_cache', option]]);
    const out = await pipeline.submit(request());
    await pipeline.close();
    t.equal(graphs(tag).length, 1, `kv_cache ${option}: the decoder stage built and ran its ${tag} graph`);
    t.same((out.segments as Segment[])[0].tokens, await reference(samples, kv), `kv_cache ${option}: tokens of the greedy loop on that graph`);
  }
  await t.rejects(loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), { overrides: [['stages.decoder.options.kv_cache', 'int8']] }), /kv_cache/, 'another value is a config error naming the option');
});

t.test('bad params are 400s naming the field; the pipeline keeps serving', async (t) => {
  const pipeline = await startPipeline();
  t.teardown(() => pipeline.close());
  await t.rejects(pipeline.submit(request({ language: 'klingon' })), { code: 'ERR_INVALID_LANGUAGE', kind: 'invalid_input', param: 'language' });
  await t.rejects(pipeline.submit(request({ temperature: -1 })), { code: 'ERR_INVALID_PARAM', kind: 'invalid_input', param: 'temperature' });
  await t.rejects(pipeline.submit(request({ max_new_tokens: 0 })), { code: 'ERR_INVALID_PARAM', kind: 'invalid_input', param: 'max_new_tokens' });
  await t.rejects(pipeline.submit(request({ prompt: 'word '.repeat(400) })), { code: 'ERR_CONTEXT_OVERFLOW', kind: 'invalid_input', param: 'prompt' });
  const forced = await pipeline.submit(request({ language: 'en' }));
  t.equal(forced.language, 'English', 'a forced language is reported as such');
});

t.test('cancelling a request mid-decode frees its slots for the next ones', async (t) => {
  const pipeline = await startPipeline([['stages.decoder.options.max_running', '1']]);
  t.teardown(() => pipeline.close());
  const abort = new AbortController();
  const first = pipeline.submit(request({ stream: true }), { signal: abort.signal, onEvent: () => abort.abort() });
  await t.rejects(first, { code: 'ERR_CANCELLED' });
  const next = await pipeline.submit(request());
  t.ok((next.segments as Segment[])[0].tokens.length > 0, 'the only KV slot was released');
});

t.test('long audio: several segments with real times, each decoded as its own audio', async (t) => {
  const pipeline = await startPipeline([
    ['stages.features.options.max_segment_s', '4'],
    ['stages.features.options.search_s', '1'],
  ]);
  t.teardown(() => pipeline.close());
  const deltas: string[] = [];
  const out = await pipeline.submit(request({ stream: true }), { onEvent: (e) => deltas.push(e.delta as string) });
  const segments = out.segments as Segment[];
  t.ok(segments.length >= 3, `${segments.length} segments for 11 s cut at ≤ 4 s`);
  t.same(segments.map((s) => s.id), segments.map((_, i) => i));
  t.equal(segments[0].start, 0);
  t.equal(segments.at(-1)!.end, 11);
  for (const [i, s] of segments.entries()) {
    t.ok(s.end - s.start <= 4 + 1 + 1e-9 && s.end > s.start, `segment ${i}: ${s.start}–${s.end} s (cuts move up to search_s)`);
    if (i > 0) t.equal(s.start, segments[i - 1].end, 'segments tile the audio');
    const audio = samples.subarray(Math.round(s.start * 16000), Math.round(s.end * 16000));
    t.same(s.tokens, await reference(audio), `segment ${i} is the transcription of its own audio`);
  }
  t.equal(out.text, text.codec.join(segments.map((s) => s.text)));
  t.ok(deltas.length > 0);
});
