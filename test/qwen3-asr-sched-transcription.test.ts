// transcribe(): one request's segments as sequences on the scheduler — deltas
// without the language header and in segment order, the per-request cap on
// segments in flight, max_new_tokens defaults and caps, the segment fields,
// cancellation and failure. Runner and codec are small deterministic doubles
// (the real ones run in the e2e test), so each expectation is exact.
import { deflateSync } from 'node:zlib';
import t from 'tap';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import { transcribe, type EncodedSegment, type TranscriptionJob } from '../stages/qwen3-asr/decode/transcription.js';
import type { AsrTextCodec } from '../stages/qwen3-asr/text/index.js';
import { ScriptedRunner, TestContext } from './qwen3-asr-sched-double.js';

const VOCAB = ['<eos>', 'language', ' English', ' None', '<asr_text>', 'Hel', 'lo', ' world', '.', 'Bye', '<pad>', '<sys>'];
const id = (piece: string) => VOCAB.indexOf(piece);
const [EOS, AUDIO, SYS] = [id('<eos>'), id('<pad>'), id('<sys>')];
const ids = (...pieces: string[]) => pieces.map(id);

/** What the model "says" for a segment, chosen by the segment's audio token count. */
const SCRIPTS: Record<number, number[]> = {
  1: ids('language', ' English', '<asr_text>', 'Hel', 'lo', ' world', '.'),
  2: ids('language', ' English', '<asr_text>', 'Bye', '.'),
  3: ids('language', ' None', '<asr_text>'),
  5: ids('Hel', 'lo', '.'),
};
const ENDLESS = 4;
const thueMorse = (i: number): boolean => i.toString(2).split('1').length % 2 === 0;

const codec: AsrTextCodec = {
  promptIds: (context, audioTokens, language) => Int32Array.from([SYS, ...Array.from(context, () => SYS), ...new Array(audioTokens).fill(AUDIO), ...(language ? ids('language', ' English', '<asr_text>') : [])]),
  detokenizer: () => ({ push: (i) => VOCAB[i], flush: () => '' }),
  decode: (tokens) => Array.from(tokens, (i) => VOCAB[i]).join(''),
  parse(raw, forced) {
    if (forced) return { text: raw.trim(), language: forced };
    const [head, text] = raw.split('<asr_text>');
    return { text: (text ?? head).trim(), language: head.includes('None') ? '' : head.replace('language ', '') };
  },
  join: (texts) => texts.filter((x) => x).join(' '),
  seam: () => ' ',
  mergeLanguages: (langs) => langs.filter((l, i) => l !== langs[i - 1]).join(','),
  noSpeech: { afterId: id('language'), tokenId: id(' None') },
};

function setup(maxSlots = 4, maxContext = 4096) {
  const runner = new ScriptedRunner({
    maxSlots,
    maxContext,
    vocabSize: VOCAB.length,
    audioTokenId: AUDIO,
    audioRowSize: 2,
    next: (prompt, i) => {
      const pads = prompt.filter((x) => x === AUDIO).length;
      // Endless without looping (the Thue-Morse sequence of two tokens repeats nothing three times in a row):
      // a loop's copies are held back from the stream until the cleanup decides (text/repetitions.ts).
      return pads === ENDLESS ? id(thueMorse(i) ? 'lo' : 'Hel') : (SCRIPTS[pads][i] ?? EOS);
    },
  });
  return { runner, scheduler: new BatchScheduler(runner, { eosIds: [EOS], embedTokenId: AUDIO, prefillChunkTokens: 64 }) };
}

/** A segment whose audio is `tokens` rows (which picks its script). */
const segment = (tokens: number, start: number, end: number): EncodedSegment => ({ start, end, tokens, audio: new Float32Array(tokens * 2) });

function job(segments: EncodedSegment[], extra: Partial<TranscriptionJob> = {}): TranscriptionJob {
  return { segments, context: '', temperature: 0, seed: 1, stream: true, logprobs: true, maxSegmentsInFlight: 8, budget: { perS: 10, min: 128 }, ...extra };
}

/** Waits until the scheduler holds no sequence. */
async function idle(scheduler: BatchScheduler): Promise<void> {
  while (scheduler.stats().running + scheduler.stats().waiting > 0) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** Most slots held at once, from the runner's call log. */
function peakSlots(runner: ScriptedRunner): number {
  const held = new Set<number>();
  let peak = 0;
  for (const c of runner.calls) {
    if (c.kind === 'prefill') held.add(c.slot);
    if (c.kind === 'release') held.delete(c.slot);
    peak = Math.max(peak, held.size);
  }
  return peak;
}

t.test('one segment: header held back, text and detected language, Whisper-style fields', async (t) => {
  const { scheduler } = setup();
  const ctx = new TestContext();
  const out = await transcribe(scheduler, codec, job([segment(1, 0, 3.5)]), ctx);
  t.same(ctx.deltas, ['Hel', 'lo', ' world', '.']);
  t.equal(out.text, 'Hello world.');
  t.equal(out.language, 'English');
  const [s] = out.segments;
  t.match(s, { id: 0, start: 0, end: 3.5, text: 'Hello world.', temperature: 0 });
  t.same(s.tokens, SCRIPTS[1]);
  t.ok(s.avg_logprob < 0 && s.avg_logprob > -1e-6, 'confident logits, logprob near 0');
  t.equal(s.compression_ratio, Buffer.byteLength('Hello world.') / deflateSync('Hello world.').length);
  t.ok(s.no_speech_prob < 1e-6, 'the model put almost nothing on " None"');
});

t.test('without logprobs: the same text and tokens, avg_logprob NaN, no_speech_prob still computed', async (t) => {
  const { scheduler } = setup();
  const out = await transcribe(scheduler, codec, job([segment(1, 0, 3.5)], { logprobs: false, stream: false }), new TestContext());
  const [s] = out.segments;
  t.equal(out.text, 'Hello world.');
  t.same(s.tokens, SCRIPTS[1]);
  t.ok(Number.isNaN(s.avg_logprob));
  t.ok(s.no_speech_prob < 1e-6);
});

t.test('no speech: empty text, empty language, no_speech_prob near 1', async (t) => {
  const { scheduler } = setup();
  const ctx = new TestContext();
  const out = await transcribe(scheduler, codec, job([segment(3, 0, 2)]), ctx);
  t.same(ctx.events, []);
  t.equal(out.text, '');
  t.equal(out.language, '');
  t.ok(out.segments[0].no_speech_prob > 0.999);
});

t.test('segments: joined in order, deltas in order with seams, at most max_segments_in_flight slots', async (t) => {
  const { runner, scheduler } = setup(8);
  const ctx = new TestContext();
  const out = await transcribe(scheduler, codec, job([segment(2, 0, 30), segment(1, 30, 58.5), segment(2, 58.5, 70), segment(3, 70, 71)], { maxSegmentsInFlight: 2 }), ctx);
  t.equal(out.text, 'Bye. Hello world. Bye.');
  t.same(out.segments.map((s) => [s.id, s.start, s.end, s.text]), [[0, 0, 30, 'Bye.'], [1, 30, 58.5, 'Hello world.'], [2, 58.5, 70, 'Bye.'], [3, 70, 71, '']]);
  t.equal(out.language, 'English', 'consecutive duplicates merged, no-speech segment ignored');
  t.equal(ctx.deltas.join(''), out.text);
  t.same(ctx.deltas, ['Bye', '.', ' Hel', 'lo', ' world', '.', ' Bye', '.']);
  t.equal(peakSlots(runner), 2);
});

t.test('a forced language: the header is in the prompt, all output is text', async (t) => {
  const { scheduler } = setup();
  const ctx = new TestContext();
  const out = await transcribe(scheduler, codec, job([segment(5, 0, 1)], { language: 'English' }), ctx);
  t.same(ctx.deltas, ['Hel', 'lo', '.']);
  t.equal(out.text, 'Hello.');
  t.equal(out.language, 'English');
  t.equal(out.segments[0].no_speech_prob, 0, 'not measurable when forced');
});

t.test('without stream nothing is emitted', async (t) => {
  const { scheduler } = setup();
  const ctx = new TestContext();
  await transcribe(scheduler, codec, job([segment(1, 0, 1)], { stream: false }), ctx);
  t.same(ctx.events, []);
});

t.test("max_new_tokens: the decoder's budget max(min, perS x seconds) by default (128, 10/s), the request value otherwise, capped by the context", async (t) => {
  const lengths = async (seconds: number, extra: Partial<TranscriptionJob>, maxContext = 4096) => {
    const { scheduler } = setup(4, maxContext);
    const out = await transcribe(scheduler, codec, job([segment(ENDLESS, 0, seconds)], { stream: false, ...extra }), new TestContext());
    return out.segments[0].tokens.length;
  };
  t.equal(await lengths(2, {}), 128);
  t.equal(await lengths(30.05, {}), 301);
  t.equal(await lengths(30, { maxNewTokens: 7 }), 7);
  t.equal(await lengths(30, {}, 105), 100, 'prompt of 5 tokens leaves 100');
  t.equal(await lengths(5, { budget: { perS: 4, min: 8 } }), 20, 'a budget of 4/s: 20 for 5 s');
  t.equal(await lengths(1, { budget: { perS: 4, min: 8 } }), 8, 'at least min');
});

t.test('a prompt that cannot fit is a 400 before any decoding', async (t) => {
  const { runner, scheduler } = setup(4, 64);
  await t.rejects(transcribe(scheduler, codec, job([segment(1, 0, 1), segment(ENDLESS, 1, 2)], { context: 'x'.repeat(70) }), new TestContext()), {
    code: 'ERR_CONTEXT_OVERFLOW',
    kind: 'invalid_input',
    param: 'prompt',
  });
  await t.rejects(transcribe(scheduler, codec, job([segment(70, 0, 1)]), new TestContext()), { code: 'ERR_CONTEXT_OVERFLOW', kind: 'invalid_input', param: 'file' });
  t.same(runner.calls, []);
});

t.test('cancelling stops every segment quickly and frees their slots', async (t) => {
  const { runner, scheduler } = setup(2);
  let stepsAtCancel = -1;
  const ctx = new TestContext((c) => {
    if (c.events.length !== 10) return;
    stepsAtCancel = scheduler.stats().decodeSteps;
    c.cancel();
  });
  const done = transcribe(scheduler, codec, job([segment(ENDLESS, 0, 600), segment(ENDLESS, 600, 1200), segment(1, 1200, 1201)], { maxNewTokens: 5000 }), ctx);
  await t.rejects(done, { code: 'ERR_CANCELLED', kind: 'cancelled' });
  await idle(scheduler);
  t.ok(stepsAtCancel > 0, `cancelled at the 10th delta, after ${stepsAtCancel} decode steps`);
  t.equal(scheduler.stats().decodeSteps, stepsAtCancel, 'no decode step after the cancel');
  t.notOk(runner.calls.some((c) => c.kind === 'prefill' && c.n === 2), 'the third segment never started');
  t.equal(runner.calls.filter((c) => c.kind === 'release').length, 2);
});

t.test('one failing segment fails the request and stops the others', async (t) => {
  const { runner, scheduler } = setup(4);
  runner.failPrefillWhen = (slot) => slot === 1;
  const out = transcribe(scheduler, codec, job([segment(ENDLESS, 0, 60), segment(1, 60, 70)], { maxNewTokens: 5000 }), new TestContext());
  await t.rejects(out, { code: 'ERR_DECODER_FAILED', kind: 'internal', message: /out of memory/ });
  await idle(scheduler);
  t.ok(scheduler.stats().generatedTokens < 10, 'the endless segment was stopped too');
});
