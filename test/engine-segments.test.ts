// The shared decoder engine with a model that is not Qwen3-ASR and has no
// audio: a toy text model that "reverses" its prompt word by word. It
// implements only the SegmentModel interface (prompt per segment, streamed
// text, result parsing) on the engine's BatchScheduler, which shows what a
// second model supplies: results come back in segment order, deltas stream in
// segment order with the model's seam, prompts without placeholder rows work.
import t from 'tap';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import { runSegments, type SegmentModel } from '../stages/common/engine/segments.js';
import { ScriptedRunner, TestContext } from './qwen3-asr-sched-double.js';

const WORDS = ['<eos>', '<unused>', 'one', 'two', 'three', 'four', 'five'];
const EOS = 0;
const PLACEHOLDER = 1;

/** The toy model: the output of a prompt is its words backwards, then EOS. */
function reverser(inputs: number[][]): SegmentModel<string> {
  return {
    count: inputs.length,
    sequence: (i) => ({ promptIds: Int32Array.from(inputs[i]), maxNewTokens: 16, temperature: 0, seed: 0, logprobs: false }),
    stream: () => ({ push: (id) => WORDS[id] + ' ', flush: () => '' }),
    seam: () => '| ',
    result: (_i, out) => out.tokens.map((id) => WORDS[id]).join(' '),
  };
}

t.test('a model without audio runs on the shared scheduler through SegmentModel alone', async (t) => {
  const runner = new ScriptedRunner({
    maxSlots: 2, maxContext: 64, vocabSize: WORDS.length, audioTokenId: PLACEHOLDER, audioRowSize: 4,
    next: (prompt, generated) => (generated < prompt.length ? prompt[prompt.length - 1 - generated] : EOS),
  });
  const scheduler = new BatchScheduler(runner, { eosIds: [EOS], embedTokenId: PLACEHOLDER, prefillChunkTokens: 8 });
  const ctx = new TestContext(undefined, 'toy');
  // Three segments on two slots, the first the longest: the others finish first but stream after it.
  const results = await runSegments(scheduler, reverser([[2, 3, 4, 5, 6], [3, 2], [4]]), 3, ctx);
  t.same(results, ['five four three two one', 'one two', 'three']);
  t.equal(ctx.events.map((e) => e.delta).join(''), 'five four three two one | one two | three ');
  t.ok(runner.calls.some((c) => c.kind === 'decode' && c.slots.length === 2), 'segments were decoded together');
  t.notOk(runner.calls.some((c) => c.kind === 'prefill' && c.audioRows > 0), 'no placeholder rows were fed');
  await scheduler.close();
});
