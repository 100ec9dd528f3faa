// POST /v1/audio/alignments: the real server over pipelines/qwen3-forced-aligner.yaml
// (the alignment handler, mounted from the pipeline's routes) on a tiny golden
// aligner checkpoint at fp32. Known text + audio → words in the upload's
// timeline, never decreasing; every bad request a 4xx in the OpenAI error shape
// naming its field, never a 5xx; transcription routes are not served by this pipeline.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { splitWords } from '../stages/qwen3-forced-aligner/text/words.js';
import { buildWav } from './fixtures/audio/wav-writer.js';

const modelPath = path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner/tiny-b/checkpoint');
const cacheDir = path.join(repoRoot(), 'test/.tmp/aligner-http');
const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
const TEXT = 'And so, my fellow Americans: ask not what your country can do for you.';

const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-forced-aligner.yaml'), {
  overrides: [['stages.align.threads', '1'], ['stages.align.options.precision', 'fp32']],
});
const pipeline = createPipeline(resolved, { modelPath, cacheDir });
const app = await buildServer({ pipelines: [{ pipeline, servedModelNames: ['qwen3-forced-aligner-tiny'] }] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(async () => { await app.close(); await pipeline.close(); });
await pipeline.ready();

function post(fields: Record<string, string | string[]>, file: Buffer | null = wav, route = 'alignments'): Promise<Response> {
  const form = new FormData();
  if (file) form.append('file', new Blob([new Uint8Array(file)], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(name, v);
  return fetch(`${base}/v1/audio/${route}`, { method: 'POST', body: form });
}

t.test('audio + text → words in the upload timeline', async (t) => {
  const res = await post({ text: TEXT, language: 'en' });
  t.equal(res.status, 200);
  const body = await res.json() as { object: string; model: string; duration: number; language: string; text: string; words: { word: string; start: number; end: number }[] };
  t.same({ object: body.object, model: body.model, language: body.language, text: body.text },
    { object: 'audio.alignment', model: 'qwen3-forced-aligner-tiny', language: 'en', text: TEXT });
  t.ok(Math.abs(body.duration - 11) < 0.01, `duration ${body.duration}`);
  t.same(body.words.map((w) => w.word), splitWords(TEXT));
  t.ok(body.words.every((w, i) => w.start <= w.end && w.start >= 0 && w.end <= body.duration && (i === 0 || w.start >= body.words[i - 1].end)), 'times never decrease and stay in the audio');
});

t.test('bad requests: 4xx in the OpenAI error shape, naming the field', async (t) => {
  const cases: [string, Promise<Response>, number, string, string][] = [
    ['no text', post({}), 400, 'missing_text', 'text'],
    ['text twice', post({ text: ['a', 'b'] }), 400, 'invalid_value', 'text'],
    ['unknown field', post({ text: TEXT, temperature: '0' }), 400, 'invalid_value', 'temperature'],
    ['punctuation only', post({ text: '?!' }), 400, 'align_empty_text', 'text'],
    ['Japanese', post({ text: 'こんにちは', language: 'ja' }), 400, 'align_language', 'language'],
    ['text far too long', post({ text: 'word '.repeat(200) }), 400, 'align_text_too_long', 'text'],
  ];
  for (const [label, pending, status, code, param] of cases) {
    const res = await pending;
    const body = await res.json() as { error: { message: string; type: string; param: string; code: string } };
    t.equal(res.status, status, `${label}: ${status}`);
    t.same({ code: body.error.code, param: body.error.param, type: body.error.type }, { code, param, type: 'invalid_request_error' }, `${label}: ${body.error.message}`);
  }
  const missing = await post({ text: TEXT }, null);
  t.equal(missing.status, 400, 'no file: 400');
  t.equal((await post({ text: TEXT }, wav, 'transcriptions')).status, 404, 'this pipeline serves no transcriptions');
});

/** `seconds` of jfk.wav's samples, looped, as a 16-bit WAV. */
function longWav(seconds: number): Buffer {
  const pcm = wav.subarray(44);
  const data = new Uint8Array(Math.round(seconds * 16000) * 2);
  for (let i = 0; i < data.length; i += pcm.length) data.set(pcm.subarray(0, Math.min(pcm.length, data.length - i)), i);
  return Buffer.from(buildWav({ formatTag: 1, channels: 1, sampleRate: 16000, bits: 16, data }));
}

t.test('text that is not what the audio says: aligned anyway, times monotonic and inside the audio', async (t) => {
  const text = 'The quick brown fox jumps over the lazy dog, 42 times!';
  const res = await post({ text, language: 'en' });
  t.equal(res.status, 200);
  const { words, duration } = await res.json() as { duration: number; words: { word: string; start: number; end: number }[] };
  t.same(words.map((w) => w.word), splitWords(text));
  t.ok(words.every((w, i) => w.start <= w.end && w.start >= 0 && w.end <= duration && (i === 0 || w.start >= words[i - 1].end)));
});

t.test('audio over what one alignment takes: a 400 naming the file, not a 5xx', async (t) => {
  // The tiny checkpoint's 500 classes span 40 s (the real one's 180 s, the official limit); the
  // route's decode refuses more than 180 s before any model work.
  for (const [seconds, code] of [[41, 'align_audio_too_long'], [181, 'audio_too_long']] as const) {
    const res = await post({ text: TEXT }, longWav(seconds));
    const body = await res.json() as { error: { message: string; param: string; code: string } };
    t.equal(res.status, 400, `${seconds} s: 400 (${body.error.message})`);
    t.match(body.error, { code, param: 'file' });
  }
});
