// Stage qwen3-forced-aligner/aligner on a tiny golden checkpoint (tiny-b: its
// random weights put some times inside the clips, so offsets show), driven as
// the pipeline drives it (process() over a batch of items): every request of a
// batch aligned in one call; words in the original timeline when a
// transcription's segments carry offsets; times that never decrease and stay
// inside their segment; requests that do not ask for words passed through; and
// each bad input a 400 of its own kind for its own item only, while the other
// items of the batch succeed.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ItemContext, ItemResult, Payload, StageInstance } from '../src/runtime/contracts.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import plugin from '../stages/qwen3-forced-aligner/align-stage.js';
import { Aligner } from '../stages/qwen3-forced-aligner/aligner.js';
import { splitWords } from '../stages/qwen3-forced-aligner/text/words.js';
import { createDescribedStage } from './fixtures/stages/described-stage.js';

const modelPath = path.join(repoRoot(), 'test/fixtures/golden/qwen3-forced-aligner/tiny-b/checkpoint');
const cacheDir = path.join(repoRoot(), 'test/.tmp/aligner-stage');
const jfk = (await decodeAudio(new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'))), { maxDurationS: 60 })).channels[0];
const TEXT = 'And so, my fellow Americans: ask not what your country can do for you — ask what you can do for your country.';
const ctx: ItemContext = { id: 'r', emit: () => {}, cancelled: false, onCancel: () => {} };

type Word = { word: string; start: number; end: number };

async function stage(options: Record<string, unknown>): Promise<{ instance: StageInstance; metrics: () => Record<string, number> }> {
  let last: Record<string, number> = {};
  const instance = await createDescribedStage(plugin.name, {
    options: { precision: 'fp32', ...options }, modelPath, cacheDir,
    publishMetrics: (m) => { last = { ...m }; },
  });
  return { instance, metrics: () => last };
}

const run = (s: StageInstance, payloads: Payload[]) => s.process(payloads.map((payload) => ({ payload, ctx }))) as Promise<ItemResult[]>;
const audio = (seconds = 11) => jfk.slice(0, Math.round(seconds * 16000));

function checkTimes(t: { ok(cond: boolean, msg: string): unknown }, words: Word[], lo: number, hi: number, label: string): void {
  t.ok(words.every((w, i) => w.start <= w.end && (i === 0 || w.start >= words[i - 1].end)), `${label}: times never decrease`);
  t.ok(words.every((w) => w.start >= lo && w.end <= hi), `${label}: times within [${lo}, ${hi}]`);
}

const always = await stage({ mode: 'always' });
t.teardown(() => always.instance.dispose?.());

t.test('a batch of standalone requests: one aligner call, words as the official split, times in the audio', async (t) => {
  const before = always.metrics().batches ?? 0;
  const results = await run(always.instance, [
    { alignment_audio: audio(), text: TEXT, params: { language: 'en' } },
    { alignment_audio: audio(6), text: 'ask not what your country can do', params: {} },
  ]);
  t.equal(always.metrics().batches, before + 1, 'both requests in one process() → one aligner call');
  for (const [i, r] of results.entries()) {
    t.ok(r.ok, `request ${i} aligned`);
    if (!r.ok) continue;
    const words = r.payload.words as Word[];
    t.same(words.map((w) => w.word), splitWords(i === 0 ? TEXT : 'ask not what your country can do'));
    checkTimes(t, words, 0, i === 0 ? 11 : 6, `request ${i}`);
    t.notOk('alignment_audio' in r.payload, 'the kept audio is removed');
  }
});

t.test('transcription segments: each aligned against its own audio, offsets kept, silence skipped', async (t) => {
  const segments = [
    { id: 0, start: 0, end: 4.5, text: 'And so, my fellow Americans,' },
    { id: 1, start: 4.5, end: 9.25, text: 'ask not what your country can do for you' },
    { id: 2, start: 9.25, end: 11, text: '' },
  ];
  const [r] = await run(always.instance, [{ alignment_audio: audio(), text: 'joined', segments, language: 'English', params: {} }]);
  t.ok(r.ok);
  if (!r.ok) return;
  const words = r.payload.words as Word[];
  t.same(words.map((w) => w.word), [...splitWords(segments[0].text), ...splitWords(segments[1].text)]);
  checkTimes(t, words.slice(0, 5), 0, 4.5, 'segment 0');
  checkTimes(t, words.slice(5), 4.5, 9.25, 'segment 1');
  checkTimes(t, words, 0, 11, 'all words');
  t.same(r.payload.segments, segments, 'segments pass on unchanged');
  // The same pieces through the aligner alone: the stage's times are those plus the segment's start, clamped to it.
  const aligner = await Aligner.create({ modelPath, cacheDir, precision: 'fp32', device: 'cpu', threads: 1 });
  t.teardown(() => aligner.dispose());
  const alone = await aligner.align(segments.slice(0, 2).map((s) => ({ samples: jfk.subarray(s.start * 16000, s.end * 16000), words: splitWords(s.text) })));
  const expected = alone.flatMap((a, k) => a.words.map((w) => {
    const clamp = (v: number) => Math.min(segments[k].end, Math.max(segments[k].start, Math.round((v + segments[k].start) * 1000) / 1000));
    return { word: w.word, start: clamp(w.start), end: clamp(w.end) };
  }));
  t.same(words, expected, 'times are the aligner\'s on each piece plus its offset');
  t.ok(alone[1].words.some((w) => w.start + 4.5 < 9.25), 'segment 1 has times the offset moves (not all clamped to its end)');
});

t.test('on_request: aligns only when timestamp_granularities include word', async (t) => {
  const s = await stage({ mode: 'on_request' });
  t.teardown(() => s.instance.dispose?.());
  const [plain, segmentOnly, words] = await run(s.instance, [
    { alignment_audio: audio(), text: TEXT, params: {} },
    { alignment_audio: audio(), text: TEXT, params: { timestamp_granularities: ['segment'] } },
    { alignment_audio: audio(), text: TEXT, params: { timestamp_granularities: ['word', 'segment'] } },
  ]);
  for (const [label, r] of [['no granularity', plain], ['segment only', segmentOnly]] as const) {
    t.ok(r.ok && !('words' in r.payload) && !('alignment_audio' in r.payload), `${label}: passed on without words, kept audio dropped`);
  }
  t.ok(words.ok && Array.isArray(words.payload.words) && (words.payload.words as Word[]).length === splitWords(TEXT).length, 'word: aligned');
});

t.test('bad input: a 400 of its own kind per item; the rest of the batch is aligned', async (t) => {
  const cases: [string, Payload, string, string][] = [
    ['empty text', { alignment_audio: audio(), text: ' — ?! ', params: {} }, 'ERR_ALIGN_EMPTY_TEXT', 'text'],
    ['Japanese', { alignment_audio: audio(), text: 'こんにちは', params: { language: 'ja' } }, 'ERR_ALIGN_LANGUAGE', 'language'],
    ['Korean detected', { alignment_audio: audio(), text: '안녕하세요', segments: [{ start: 0, end: 11, text: '안녕하세요' }], language: 'Korean', params: {} }, 'ERR_ALIGN_LANGUAGE', 'language'],
    ['unsupported language', { alignment_audio: audio(), text: TEXT, params: { language: 'Klingon' } }, 'ERR_ALIGN_LANGUAGE', 'language'],
    ['text too long for the audio', { alignment_audio: audio(1), text: 'word '.repeat(13), params: {} }, 'ERR_ALIGN_TEXT_TOO_LONG', 'text'],
    ['audio over the limit', { alignment_audio: new Float32Array(41 * 16000), text: TEXT, params: {} }, 'ERR_ALIGN_AUDIO_TOO_LONG', 'file'],
    ['audio too short', { alignment_audio: new Float32Array(100), text: 'hi', params: {} }, 'ERR_ALIGN_AUDIO_TOO_SHORT', 'file'],
  ];
  const results = await run(always.instance, [...cases.map((c) => c[1]), { alignment_audio: audio(), text: TEXT, params: {} }]);
  for (const [i, [label, , code, param]] of cases.entries()) {
    const r = results[i];
    // Both kinds answer 400 (src/server/errors.ts KIND_STATUS); too_long says which limit.
    const kind = code === 'ERR_ALIGN_AUDIO_TOO_LONG' ? 'too_long' : 'invalid_input';
    t.ok(!r.ok && r.error.kind === kind && r.error.code === code && r.error.param === param, `${label}: ${kind} ${code} (param ${param})${r.ok ? '' : `: ${r.error.message}`}`);
  }
  const langs = results.slice(1, 3).map((r) => (r.ok ? '' : r.error.message));
  t.match(langs[0], /Japanese/, 'the Japanese error names the language');
  t.match(langs[1], /Korean/, 'the Korean error names the language');
  t.match(results[3].ok ? '' : results[3].error.message, /Klingon.*English \(en\)/, 'an unsupported language lists the supported ones');
  t.ok(results[cases.length].ok, 'the valid request in the same batch is aligned');
});
