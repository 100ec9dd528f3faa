// The standard way to keep times in the original timeline (src/runtime/timeline.ts,
// exported by sgl-omni-ts/plugin): the mapping functions on known pieces, and
// through real stages: after a stage that trims the audio (test/trim), silero-vad's
// speech regions and whisper-mel's segments land where they lie in the upload,
// as without the trim; the forced aligner cuts its kept audio and places its word
// times through the timeline keep-audio kept.
import path from 'node:path';
import t from 'tap';
import type { Payload } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { keepSpans, mediaTime, readTimeline, sourceRange, sourceTime } from '../src/runtime/timeline.js';
import { repoRoot } from '../src/util/paths.js';
import { alignUnits, placeWords } from '../stages/qwen3-forced-aligner/decode/units.js';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { loadTestPipeline } from './fixtures/stages/pipeline-helper.js';
import { jfkSamples, joinWithGaps, RATE } from './fixtures/vad/long-audio.js';

t.test('keepSpans composes cuts; sourceTime, sourceRange and mediaTime map through them', async (t) => {
  // 0-10 s of the original, keep 2-5 and 7-10: media 0-3 is source 2-5, media 3-6 is source 7-10.
  const once = keepSpans(undefined, [{ start: 2, end: 5 }, { start: 7, end: 10 }]);
  t.same(once, [{ at: 0, source: 2, length: 3 }, { at: 3, source: 7, length: 3 }]);
  t.equal(sourceTime(once, 1), 3);
  t.equal(sourceTime(once, 3), 7, 'a start at the join belongs to the piece after it');
  t.equal(sourceTime(once, 3, 'end'), 5, 'an end at the join belongs to the piece before it');
  t.same(sourceRange(once, { start: 0.5, end: 4 }), { start: 2.5, end: 8 });
  t.equal(mediaTime(once, 8), 4);
  t.equal(mediaTime(once, 6), 3, 'a time that was cut out maps to where the media resumes');
  t.equal(mediaTime(once, 0), 0);
  t.equal(mediaTime(once, 11), 6);
  // A second trim of that media (keep 1-4): source 3-5 and 7-8, the earlier join kept.
  const twice = keepSpans(once, [{ start: 1, end: 4 }]);
  t.same(twice, [{ at: 0, source: 3, length: 2 }, { at: 2, source: 7, length: 1 }]);
  t.same(keepSpans(once, [{ start: 0, end: 2 }, { start: 2, end: 3 }]), [{ at: 0, source: 2, length: 3 }], 'spans contiguous in the original are one piece');
  t.equal(sourceTime(undefined, 4.2), 4.2, 'no timeline: the media is the original');
  t.equal(mediaTime(undefined, 4.2), 4.2);
});

t.test('readTimeline refuses what is not a timeline as a wiring fault', async (t) => {
  t.equal(readTimeline({}, 's'), undefined);
  t.same(readTimeline({ timeline: [{ at: 0, source: 1, length: 2 }] }, 's'), [{ at: 0, source: 1, length: 2 }]);
  for (const bad of [[], 'x', [{ at: 1, source: 0, length: 1 }], [{ at: 0, source: 0, length: 1 }, { at: 2, source: 3, length: 1 }], [{ at: 0, source: 0, length: 0 }]]) {
    t.throws(() => readTimeline({ timeline: bad }, 's'), { code: 'ERR_BAD_PAYLOAD', kind: 'internal' }, JSON.stringify(bad));
  }
});

// 2 s of silence, JFK (11 s), 3 s of silence, JFK, 1 s of silence: speech at 2-13 and 16-27.
const jfk = jfkSamples();
const { samples, copies } = joinWithGaps(jfk, [{ s: 2, noise: false }, { s: 3, noise: false }, { s: 1, noise: false }]);
const wav = buildWav({ formatTag: 3, bits: 32, channels: 1, sampleRate: RATE, data: new Uint8Array(samples.buffer) });
const trim = path.join(repoRoot(), 'test', 'fixtures', 'stages', 'trim.plugin.yaml');

type Segment = { start: number; end: number };

async function segments(keep: number[][] | undefined, params: Payload): Promise<{ segments: Segment[]; duration: number }> {
  const chain = ['decode', 'resample', ...(keep ? ['trim'] : []), 'vad', 'features'];
  const plugins: Record<string, unknown> = {
    decode: { plugin: 'audio/decode' },
    resample: { plugin: 'audio/resample' },
    trim: { plugin: trim, options: { keep } },
    vad: { plugin: 'silero-vad/vad' },
    features: { plugin: 'audio/whisper-mel' },
  };
  const stages = Object.fromEntries(chain.map((name, i) => [name, { ...(plugins[name] as object), ...(chain[i + 1] ? { next: chain[i + 1] } : {}) }]));
  const pipeline = createPipeline(await loadTestPipeline({ name: 'timeline', routes: ['/v1/audio/features'], entry: 'decode', stages }), { modelPath: '', cacheDir: '/tmp/cache' });
  try {
    await pipeline.ready();
    const out = await pipeline.submit({ audio: wav.slice().buffer, filename: 'joined.wav', contentType: 'audio/wav', params });
    return { segments: (out.segments as Segment[]).map(({ start, end }) => ({ start, end })), duration: out.duration as number };
  } finally {
    await pipeline.close();
  }
}

t.test('a trimmed front: speech regions and segments in the original timeline, as without the trim', async (t) => {
  const auto = { chunking_strategy: 'auto' };
  const whole = await segments(undefined, auto);
  // 1.024 s is 32 VAD windows, so both runs step the model on the same grid; a second of the lead-in
  // silence stays, so Silero's recurrent state meets the speech as in the whole file (with none left it
  // ends the first copy 0.3 s sooner: the model's answer changes, not the mapping).
  const trimmed = await segments([[1.024, 60]], auto);
  t.equal(whole.segments.length, 2, 'one segment per copy of the speech');
  t.equal(trimmed.segments.length, 2);
  whole.segments.forEach((segment, i) => {
    t.ok(segment.start >= copies[i].start && segment.start < copies[i].start + 0.5, `copy ${i}: starts at its speech (${segment.start} s)`);
    t.ok(Math.abs(trimmed.segments[i].start - segment.start) <= 0.02, `copy ${i}: start ${trimmed.segments[i].start} s after the trim, ${segment.start} s without`);
    t.ok(Math.abs(trimmed.segments[i].end - segment.end) <= 0.02, `copy ${i}: end ${trimmed.segments[i].end} s after the trim, ${segment.end} s without`);
  });
  t.equal(trimmed.duration, whole.duration, "the duration is the upload's");
});

t.test('a cut-out middle: one segment across the join spans the original from its first to its last kept second', async (t) => {
  const { segments: [segment], duration } = await segments([[2, 13], [16, 60]], {});
  t.same(segment, { start: 2, end: samples.length / RATE });
  t.equal(duration, samples.length / RATE);
});

t.test('the aligner reads segment times into its kept audio and gives word times in the original', async (t) => {
  // Kept audio made of original 0-2 s and 5-9 s (6 s), each sample holding its original time.
  const timeline = keepSpans(undefined, [{ start: 0, end: 2 }, { start: 5, end: 9 }]);
  const kept = Float32Array.from({ length: 6 * RATE }, (_, i) => sourceTime(timeline, i / RATE));
  const limits = { maxSeconds: 180, segmentMs: 80 };
  const [unit] = alignUnits({ segments: [{ start: 1, end: 8, text: 'ask not' }], alignment_timeline: timeline }, kept, limits);
  t.match(unit, { start: 1, end: 8, mediaStart: 1, words: ['ask', 'not'] });
  t.equal(unit.samples.length, 4 * RATE, 'original 1-8 s is 4 s of kept audio (5 s of it was cut out)');
  t.equal(unit.samples[0], 1);
  t.ok(Math.abs(unit.samples[unit.samples.length - 1] - (8 - 1 / RATE)) < 1e-6, 'and ends at original 8 s');
  // Times into the unit's samples: 0.5-1.0 s is original 1.5-2.0; 1.0-2.5 s is 5.0-6.5 (after the cut).
  t.same(placeWords(unit, [{ word: 'ask', start: 0.5, end: 1 }, { word: 'not', start: 1, end: 2.5 }]), [{ word: 'ask', start: 1.5, end: 2 }, { word: 'not', start: 5, end: 6.5 }]);
  const [plain] = alignUnits({ segments: [{ start: 1, end: 3, text: 'ask not' }] }, kept, limits);
  t.same(placeWords(plain, [{ word: 'ask', start: 0.5, end: 1.25 }]), [{ word: 'ask', start: 1.5, end: 2.25 }], 'no timeline: the kept audio is the original');
  const [whole] = alignUnits({ text: 'ask not', alignment_timeline: timeline }, kept, limits);
  t.match(whole, { start: 0, end: 9, mediaStart: 0 }, 'a standalone request spans the original from its first to its last kept second');
});
