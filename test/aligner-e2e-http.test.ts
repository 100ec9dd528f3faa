// Word timestamps through OpenAI's transcription route: the real server over
// pipelines/qwen3-asr-aligned.yaml (tiny Qwen3-ASR checkpoint + tiny golden
// aligner, fp32), with the front end cutting jfk.wav into segments of at most
// 5 s so words come from several segments. verbose_json with word granularity
// lists words in the upload's timeline (never decreasing, inside the audio,
// each inside its segment); srt/vtt cues take their words' span; without word
// granularity nothing is aligned; word with json is a 400 naming the field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { buildServer } from '../src/server/app.js';
import { repoRoot } from '../src/util/paths.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { splitWords } from '../stages/qwen3-forced-aligner/text/words.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aligner-e2e-'));
const asr = path.join(dir, 'asr');
await makeCheckpoint({ size: 'tiny', out: asr, seed: 3 });
const aligner = path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner/tiny-b/checkpoint');
const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr-aligned.yaml'), {
  overrides: [
    ['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'], ['stages.align.threads', '1'],
    ['stages.encoder.options.precision', 'fp32'], ['stages.decoder.options.precision', 'fp32'], ['stages.align.options.precision', 'fp32'],
    ['stages.align.options.model_path', aligner], ['stages.features.options.max_segment_s', '5'], ['stages.features.options.search_s', '1'],
  ],
});
const pipeline = createPipeline(resolved, { modelPath: asr, cacheDir: path.join(dir, 'cache') });
const app = await buildServer({ pipelines: [{ pipeline, servedModelNames: ['qwen3-asr-tiny'] }] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(async () => { await app.close(); await pipeline.close(); fs.rmSync(dir, { recursive: true, force: true }); });
await pipeline.ready();
const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));

function post(fields: Record<string, string | string[]>): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(wav)], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) form.append(name, v);
  return fetch(`${base}/v1/audio/transcriptions`, { method: 'POST', body: form });
}

type Verbose = { duration: number; segments: { start: number; end: number; text: string }[]; words?: { word: string; start: number; end: number }[] };
const word = { response_format: 'verbose_json', 'timestamp_granularities[]': ['word', 'segment'], max_new_tokens: '24' };

t.test('verbose_json + word: words in the upload timeline, each inside its segment', async (t) => {
  const res = await post(word);
  t.equal(res.status, 200);
  const body = await res.json() as Verbose;
  t.ok(body.segments.length >= 3, `${body.segments.length} segments of ≤ 5 s`);
  const words = body.words!;
  t.same(words.map((w) => w.word), body.segments.flatMap((s) => splitWords(s.text)), 'the words of every segment, in order');
  t.ok(words.length > 0, `${words.length} words`);
  t.ok(words.every((w, i) => w.start <= w.end && (i === 0 || w.start >= words[i - 1].end)), 'times never decrease');
  t.ok(words.every((w) => w.start >= 0 && w.end <= body.duration), 'times inside the audio');
  let k = 0;
  for (const s of body.segments) for (const _ of splitWords(s.text)) { const w = words[k++]; t.ok(w.start >= s.start && w.end <= s.end, `"${w.word}" inside its segment [${s.start}, ${s.end}]`); }
  t.ok(words.some((w) => w.start > body.segments[0].end), 'later segments keep their offset');
});

t.test('without word granularity: no words', async (t) => {
  const body = await (await post({ response_format: 'verbose_json', max_new_tokens: '24' })).json() as Verbose;
  t.notOk('words' in body);
});

t.test('srt with word granularity: cues span their words', async (t) => {
  const verbose = await (await post(word)).json() as Verbose;
  const srt = await (await post({ ...word, response_format: 'srt' })).text();
  const cues = [...srt.matchAll(/(\d\d):(\d\d):(\d\d),(\d{3}) --> (\d\d):(\d\d):(\d\d),(\d{3})/g)].map((m) => [
    +m[1] * 3600 + +m[2] * 60 + +m[3] + +m[4] / 1000, +m[5] * 3600 + +m[6] * 60 + +m[7] + +m[8] / 1000]);
  const expected = verbose.segments.filter((s) => s.text.trim() !== '').map((s) => {
    const inside = verbose.words!.filter((w) => w.start >= s.start && w.end <= s.end);
    return inside.length ? [inside[0].start, inside[inside.length - 1].end] : [s.start, s.end];
  });
  t.same(cues, expected);
});

t.test('word with a format that cannot carry it: 400 naming the field', async (t) => {
  const res = await post({ ...word, response_format: 'json' });
  t.equal(res.status, 400);
  t.match(await res.json(), { error: { param: 'timestamp_granularities', code: 'invalid_value' } });
});
