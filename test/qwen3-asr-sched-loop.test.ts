// The loop guard (stages/common/engine/loop-guard.ts) on the shared scheduler, with a
// decoder double that loops: a looping sequence ends within a bounded number of decode
// steps with one copy of its unit kept, real repetition below the thresholds is left
// alone, a neighbour in the batch is unaffected; then, through transcribe() with the
// real output parser, the text that comes out is cleaned.
import t from 'tap';
import type { ItemContext, Payload } from '../src/runtime/contracts.js';
import { BatchScheduler, type BatchSchedulerOptions } from '../stages/common/engine/batch-scheduler.js';
import type { LoopGuardOptions } from '../stages/common/engine/loop-guard.js';
import { transcribe } from '../stages/qwen3-asr/decode/transcription.js';
import type { AsrTextCodec } from '../stages/qwen3-asr/text/index.js';
import { parseAsrOutput } from '../stages/qwen3-asr/text/parse.js';
import { ScriptedRunner } from './qwen3-asr-sched-double.js';

const EOS = 0;
const AUDIO = 1;
/** decoder.plugin.yaml's defaults. */
const GUARD: LoopGuardOptions = { maxPeriod: 32, minRepeats: 4, minTokens: 40 };

/** Generation scripts, chosen by the prompt's first id: a prefix, then `unit` forever (or `times` times, then EOS). */
const SCRIPTS: Record<number, { prefix: number[]; unit: number[]; times?: number }> = {
  2: { prefix: [5, 6], unit: [7] },
  3: { prefix: [5, 8, 9], unit: [10, 8, 9] },
  4: { prefix: [5], unit: [11, 12, 13, 14, 15, 16, 17, 18, 19] },
  5: { prefix: [5], unit: Array.from({ length: 40 }, (_, i) => 20 + i) },
  6: { prefix: [5], unit: [7], times: 39 },
  7: { prefix: [5], unit: [11, 12, 13, 14, 15, 16, 17, 18, 19, 20], times: 3 },
  8: { prefix: [5, 6], unit: [] },
};

function tokenAt(script: number, i: number): number {
  const { prefix, unit, times } = SCRIPTS[script];
  if (i < prefix.length) return prefix[i];
  const j = i - prefix.length;
  return times !== undefined && j >= times * unit.length ? EOS : unit.length ? unit[j % unit.length] : EOS;
}

function setup(loopGuard: LoopGuardOptions | undefined, vocabSize = 64) {
  const runner = new ScriptedRunner({ maxSlots: 4, maxContext: 8192, vocabSize, audioTokenId: AUDIO, audioRowSize: 2, next: (prompt, i) => tokenAt(prompt[0], i) });
  const opts: BatchSchedulerOptions = { eosIds: [EOS], embedTokenId: AUDIO, prefillChunkTokens: 64, loopGuard };
  return { runner, scheduler: new BatchScheduler(runner, opts) };
}
const run = (scheduler: BatchScheduler, script: number, maxNewTokens = 2000) =>
  scheduler.submit({ promptIds: Int32Array.from([script, 60, 61]), maxNewTokens, temperature: 0, seed: 1 }).result;

t.test('a loop of one token ends after 40 copies; one copy stays', async (t) => {
  const { runner, scheduler } = setup(GUARD);
  const out = await run(scheduler, 2);
  t.equal(out.finishReason, 'loop');
  t.same(out.tokens, [5, 6, 7]);
  t.equal(out.logprobs.length, 3, 'a logprob per kept token');
  t.same(out.loop, { period: 1, extra: 39 });
  // 2 + 40 tokens sampled: the first from prefill, 41 from decode steps.
  t.equal(scheduler.stats().decodeSteps, 41);
  t.equal(scheduler.stats().loopStops, 1);
  t.same(runner.calls.at(-1), { kind: 'release', slot: 0 }, 'its slot is freed');
});

t.test('without the guard the same loop runs to max_new_tokens', async (t) => {
  for (const guard of [undefined, { ...GUARD, maxPeriod: 0 }]) {
    const { scheduler } = setup(guard);
    const out = await run(scheduler, 2);
    t.equal(out.finishReason, 'length');
    t.equal(out.tokens.length, 2000);
    t.equal(scheduler.stats().decodeSteps, 1999);
  }
});

t.test('longer units: fewer copies, never more than max(4 x unit, 40 + unit) tokens spent', async (t) => {
  const { scheduler } = setup(GUARD);
  const three = await run(scheduler, 3);
  t.same(three.tokens, [5, 8, 9, 10], 'the unit is found in whatever phase the loop started');
  t.same(three.loop, { period: 3, extra: 39 }, '14 copies of 3 tokens = 42 ≥ 40');
  const nine = await run(scheduler, 4);
  t.same(nine.tokens, [5, ...SCRIPTS[4].unit]);
  t.same(nine.loop, { period: 9, extra: 36 }, '5 copies of 9 = 45 tokens (4 would span only 36)');
  t.equal(scheduler.stats().generatedTokens, 1 + 42 + 1 + 45, 'a prefix token and the copies, nothing more');
});

t.test('a unit longer than loop_max_period is not caught (max_new_tokens still bounds it)', async (t) => {
  const { scheduler } = setup(GUARD);
  const out = await run(scheduler, 5, 500);
  t.equal(out.finishReason, 'length');
  t.equal(out.tokens.length, 500);
  const wide = setup({ ...GUARD, maxPeriod: 40 });
  t.same((await run(wide.scheduler, 5, 500)).tokens, [5, ...SCRIPTS[5].unit], 'with loop_max_period 40 it is');
});

t.test('repetition under the thresholds is speech: left alone', async (t) => {
  const { scheduler } = setup(GUARD);
  const nos = await run(scheduler, 6);
  t.equal(nos.finishReason, 'stop');
  t.equal(nos.tokens.length, 40, '39 copies of one token, then EOS');
  const phrase = await run(scheduler, 7);
  t.equal(phrase.finishReason, 'stop');
  t.equal(phrase.tokens.length, 31, 'a 10-token phrase said 3 times');
  t.equal(scheduler.stats().loopStops, 0);
});

t.test('a looping sequence leaves the batch; its neighbour decodes on unchanged', async (t) => {
  const { scheduler } = setup(GUARD);
  const [looping, normal] = await Promise.all([run(scheduler, 2), run(scheduler, 7)]);
  t.equal(looping.finishReason, 'loop');
  t.same(normal.tokens, [5, ...SCRIPTS[7].unit, ...SCRIPTS[7].unit, ...SCRIPTS[7].unit]);
});

t.test('the copies a loop leaves out are never streamed: the tokens streamed are the tokens kept', async (t) => {
  const { scheduler } = setup(GUARD);
  for (const script of Object.keys(SCRIPTS).map(Number)) {
    const streamed: number[] = [];
    const out = await scheduler.submit({ promptIds: Int32Array.from([script, 60, 61]), maxNewTokens: 500, temperature: 0, seed: 1, onToken: (id) => void streamed.push(id) }).result;
    t.same(streamed, out.tokens, `script ${script} (${out.finishReason}${out.loop ? `, ${out.loop.extra} copies dropped` : ''})`);
  }
});

t.test('bad guard settings are refused when the scheduler is made', async (t) => {
  t.throws(() => setup({ maxPeriod: 8, minRepeats: 1, minTokens: 40 }), RangeError);
  t.throws(() => setup({ maxPeriod: 1.5, minRepeats: 4, minTokens: 40 }), RangeError);
});

// Through transcribe(): pieces of text per id, and the real parser (header, cleanup).
const VOCAB = ['<eos>', '<pad>', 'language', ' English', '<asr_text>', 'Hel', 'lo', ' I', ' think', '.', '哎', '可是', '我', '像', '<sys>'];
const id = (piece: string) => VOCAB.indexOf(piece);
const LOOPS: Record<number, number[][]> = {
  1: [['language', ' English', '<asr_text>', 'Hel', 'lo'].map(id), [' I', ' think', '.'].map(id)],
  2: [['language', ' English', '<asr_text>', '哎', '可是', '我'].map(id), ['像'].map(id)],
};
const codec = {
  promptIds: (_context, audioTokens) => Int32Array.from([id('<sys>'), ...new Array(audioTokens).fill(id('<pad>'))]),
  detokenizer: () => ({ push: (i) => VOCAB[i], flush: () => '' }),
  decode: (tokens) => Array.from(tokens, (i) => VOCAB[i]).join(''),
  parse: (raw, forced) => parseAsrOutput(raw, forced),
  join: (texts) => texts.join(' '),
  seam: () => ' ',
  mergeLanguages: (langs: string[]) => langs.join(','),
} as AsrTextCodec;
const ctx = (events: Payload[]): ItemContext => ({ id: 'r', cancelled: false, emit: (e) => void events.push(e), onCancel() {} });

t.test('transcribe: a looping segment comes back cleaned after a bounded number of steps', async (t) => {
  for (const [guard, steps] of [[GUARD, 'bounded'], [undefined, 'unbounded']] as const) {
    const runner = new ScriptedRunner({
      maxSlots: 4, maxContext: 8192, vocabSize: VOCAB.length, audioTokenId: id('<pad>'), audioRowSize: 2,
      next: (prompt, i) => {
        const [prefix, unit] = LOOPS[prompt.length - 1];
        return i < prefix.length ? prefix[i] : unit[(i - prefix.length) % unit.length];
      },
    });
    const scheduler = new BatchScheduler(runner, { eosIds: [id('<eos>')], embedTokenId: id('<pad>'), prefillChunkTokens: 64, loopGuard: guard });
    const events: Payload[] = [];
    const segments = [1, 2].map((n, i) => ({ start: i, end: i + 1, tokens: n, audio: new Float32Array(n * 2) }));
    const out = await transcribe(scheduler, codec, { segments, context: '', temperature: 0, seed: 1, stream: true, logprobs: true, maxNewTokens: 1000, maxSegmentsInFlight: 2, budget: { perS: 10, min: 128 } }, ctx(events));
    if (steps === 'bounded') {
      t.same(out.segments.map((s) => s.text), ['Hello I think.', '哎可是我像'], 'one copy of each loop');
      t.equal(out.text, 'Hello I think. 哎可是我像');
      // 5 + 42 and 6 + 40 tokens sampled; the first of each from prefill
      t.equal(scheduler.stats().generatedTokens, 47 + 46);
      t.ok(events.length <= 47 + 46, 'the streamed deltas stop with them');
      t.equal(events.map((e) => e.delta).join(''), out.text, 'the deltas joined are the text: the dropped copies were never streamed');
    } else {
      t.equal(scheduler.stats().generatedTokens, 2000, 'without the guard both run to max_new_tokens');
      // The official cleanup alone collapses the long loops but keeps the copy cut short by the limit.
      t.same(out.segments.map((s) => s.text), ['Hello I think. I think', '哎可是我像']);
      t.equal(events.map((e) => e.delta).join(''), out.text, 'the deltas joined are the text: the copies the cleanup trims were never streamed');
    }
  }
});
