// BatchScheduler's batching logic against a deterministic test-double runner:
// slot admission, chunked prefill interleaved with decode steps, leaving at
// once, cancellation, the max_new_tokens cap and the audio splice. (The real
// runners are exercised by qwen3-asr-sched-invariance and the e2e tests.)
import t from 'tap';
import type { DecoderRunner } from '../stages/common/engine/runner.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import type { SequenceSpec } from '../stages/common/engine/sequence.js';
import { ScriptedRunner, type Call } from './qwen3-asr-sched-double.js';

const EOS = 0;
const AUDIO = 100;

/** A prompt whose first id is k generates k tokens then EOS (k = 15: never EOS). */
const runnerOf = (maxSlots: number, maxContext = 4096) =>
  new ScriptedRunner({ maxSlots, maxContext, vocabSize: 16, audioTokenId: AUDIO, audioRowSize: 2, next: (prompt, i) => tokenAt(prompt[0], prompt.length, i) });

/** Token i generated after a prompt starting with `k` of length `len`. */
function tokenAt(k: number, len: number, i: number): number {
  return k !== 15 && i >= k ? EOS : 2 + ((k * 5 + len + i * 3) % 13);
}

/** All a prompt starting with k < 15 generates before EOS. */
function expectedTokens(k: number, len: number): number[] {
  return Array.from({ length: k }, (_, i) => tokenAt(k, len, i));
}

/** Resolves once `n` tokens of the spec were sampled (calling `then` synchronously at that point). */
function afterTokens(s: SequenceSpec, n: number, then: () => void = () => {}): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    s.onToken = () => {
      if (++seen === n) {
        then();
        resolve();
      }
    };
  });
}

function spec(k: number, len = 4, extra: Partial<SequenceSpec> = {}): SequenceSpec {
  const promptIds = Int32Array.from({ length: len }, (_, i) => (i === 0 ? k : 2 + (i % 13)));
  return { promptIds, maxNewTokens: 64, temperature: 0, seed: 1, ...extra };
}

function scheduler(runner: DecoderRunner, prefillChunkTokens = 256): BatchScheduler {
  return new BatchScheduler(runner, { eosIds: [EOS], embedTokenId: AUDIO, prefillChunkTokens });
}

const decodes = (runner: ScriptedRunner) => runner.calls.filter((c): c is Extract<Call, { kind: 'decode' }> => c.kind === 'decode');

t.test('a lone sequence generates until EOS, with a logprob per sampled token', async (t) => {
  const runner = runnerOf(4);
  const out = await scheduler(runner).submit(spec(5)).result;
  t.same(out.tokens, expectedTokens(5, 4));
  t.equal(out.finishReason, 'stop');
  t.equal(out.logprobs.length, 6, '5 tokens + EOS');
  for (const lp of out.logprobs) t.ok(lp < 0 && lp > -0.01, 'a logit 20 above 15 others is near certain');
  t.same(runner.calls.at(-1), { kind: 'release', slot: 0 }, 'slot freed at the end');
});

t.test('more sequences than slots: at most maxSlots run, each output as if alone', async (t) => {
  const runner = runnerOf(2);
  const sched = scheduler(runner);
  const ks = [3, 7, 1, 9, 4];
  const outs = await Promise.all(ks.map((k, i) => sched.submit(spec(k, 4 + i)).result));
  outs.forEach((out, i) => t.same(out.tokens, expectedTokens(ks[i], 4 + i), `sequence ${i}`));
  t.ok(decodes(runner).every((c) => c.slots.length <= 2 && new Set(c.slots).size === c.slots.length));
  t.ok(decodes(runner).some((c) => c.slots.length === 2), 'two sequences did decode together');
  const prefills = runner.calls.filter((c): c is Extract<Call, { kind: 'prefill' }> => c.kind === 'prefill');
  t.match(sched.stats(), {
    waiting: 0,
    running: 0,
    generatedTokens: 24 + 5,
    decodeSteps: decodes(runner).length,
    decodeRows: decodes(runner).reduce((n, c) => n + c.slots.length, 0),
    prefillCalls: prefills.length,
    prefillTokens: ks.reduce((n, _, i) => n + 4 + i, 0),
  });
});

t.test('one decode step advances every decoding sequence', async (t) => {
  const runner = runnerOf(8);
  const sched = scheduler(runner);
  await Promise.all([0, 1, 2, 3].map(() => sched.submit(spec(6)).result));
  // All four are admitted and prefilled in the first turn (16 prompt tokens < 256), then decode together.
  // 6 tokens: the first comes from prefill, 5 decode steps feed them back and a 6th samples EOS.
  t.same(decodes(runner).map((c) => c.slots), Array.from({ length: 6 }, () => [0, 1, 2, 3]));
});

t.test('a long prompt is prefilled in chunks between decode steps of running sequences', async (t) => {
  const runner = runnerOf(4);
  const sched = scheduler(runner, 256);
  const first = spec(15, 4, { maxNewTokens: 40 });
  const decoding = afterTokens(first, 2);
  const running = sched.submit(first);
  await decoding;
  const long = sched.submit(spec(2, 600));
  const [a, b] = await Promise.all([running.result, long.result]);
  t.equal(a.finishReason, 'length');
  t.same(b.tokens, expectedTokens(2, 600));
  const chunks = runner.calls.filter((c) => c.kind === 'prefill' && c.slot === 1).map((c) => (c as { n: number }).n);
  t.same(chunks, [256, 256, 88]);
  // Between the long prompt's chunks, slot 0 keeps decoding.
  const order = runner.calls.filter((c) => c.kind !== 'release' && (c.kind === 'decode' || c.slot === 1)).map((c) => c.kind);
  const start = order.indexOf('prefill');
  t.same(order.slice(start, start + 6), ['prefill', 'decode', 'prefill', 'decode', 'prefill', 'decode']);
});

t.test('the prefill budget is shared: several short prompts go in one turn', async (t) => {
  const runner = runnerOf(4);
  const sched = scheduler(runner, 100);
  await Promise.all([60, 60, 60].map((len) => sched.submit(spec(3, len)).result));
  const n = runner.calls.map((c) => (c.kind === 'prefill' ? `p${c.slot}:${c.n}` : c.kind === 'decode' ? 'd' : 'r'));
  t.same(n.slice(0, 5), ['p0:60', 'p1:40', 'd', 'p1:20', 'p2:60'], '100 prompt tokens per turn; a decode step in between');
});

t.test('a finished sequence leaves at once and its slot goes to a waiting one', async (t) => {
  const runner = runnerOf(2);
  const sched = scheduler(runner);
  const settled: string[] = [];
  const short = sched.submit(spec(2)).result.then(() => settled.push('short'));
  const long = sched.submit(spec(8)).result.then(() => settled.push('long'));
  const queued = sched.submit(spec(3)).result.then(() => settled.push('queued'));
  await Promise.all([short, long, queued]);
  t.equal(settled[0], 'short');
  const calls = runner.calls;
  const released = calls.findIndex((c) => c.kind === 'release');
  t.same(calls[released], { kind: 'release', slot: 0 });
  t.same(calls[released + 1], { kind: 'prefill', slot: 0, n: 4, audioRows: 0 }, 'the queued sequence took slot 0 next');
  t.same(decodes(runner).at(-1)!.slots.length, 1);
});

t.test('cancellation drops waiting sequences and frees running ones quickly', async (t) => {
  const runner = runnerOf(1);
  const sched = scheduler(runner);
  const endless = spec(15, 4, { maxNewTokens: 1000 });
  let running: ReturnType<BatchScheduler['submit']> | undefined;
  const cancelledAt3 = afterTokens(endless, 3, () => running!.cancel());
  running = sched.submit(endless);
  const waiting = sched.submit(spec(2, 9));
  const next = sched.submit(spec(3, 5));
  waiting.cancel();
  await t.rejects(waiting.result, { code: 'ERR_CANCELLED', kind: 'cancelled' });
  await cancelledAt3;
  await t.rejects(running.result, { code: 'ERR_CANCELLED' });
  const out = await next.result;
  t.same(out.tokens, expectedTokens(3, 5), 'the next sequence got the freed slot');
  t.notOk(runner.calls.some((c) => c.kind === 'prefill' && c.n === 9), 'the cancelled waiting sequence never ran');
  t.equal(decodes(runner).length, 2 + 3, 'the cancelled sequence took no step after its 3rd token');
  t.same(sched.stats().running, 0);
});

t.test('max_new_tokens caps generation; prompt + max_new beyond the context is a 400', async (t) => {
  const runner = runnerOf(2, 64);
  const sched = scheduler(runner);
  const out = await sched.submit(spec(15, 4, { maxNewTokens: 7 })).result;
  t.equal(out.tokens.length, 7);
  t.equal(out.finishReason, 'length');
  t.equal(out.logprobs.length, 7);
  const fits = await sched.submit(spec(15, 4, { maxNewTokens: 60 })).result;
  t.equal(fits.tokens.length, 60, 'prompt + max_new = context exactly is fine');
  t.throws(() => sched.submit(spec(15, 4, { maxNewTokens: 61 })), { code: 'ERR_CONTEXT_OVERFLOW', kind: 'invalid_input', param: 'max_new_tokens' });
});

t.test('audio rows follow their audio_pad ids across prefill chunks', async (t) => {
  const runner = runnerOf(1);
  const sched = scheduler(runner, 8);
  const promptIds = Int32Array.from([4, 2, 3, AUDIO, AUDIO, AUDIO, AUDIO, AUDIO, AUDIO, AUDIO, 5, 6, 7]);
  const audio = Float32Array.from({ length: 14 }, (_, i) => i + 0.5);
  const out = await sched.submit({ promptIds, embeds: audio, maxNewTokens: 64, temperature: 0, seed: 1 }).result;
  t.same(out.tokens, expectedTokens(4, 13));
  const prefills = runner.calls.filter((c) => c.kind === 'prefill');
  t.same(prefills.map((c) => [c.n, c.audioRows]), [[8, 5], [5, 2]]);
  t.throws(() => sched.submit({ promptIds, embeds: new Float32Array(15), maxNewTokens: 4, temperature: 0, seed: 1 }), { code: 'ERR_DECODER_FAILED', kind: 'internal' });
});

t.test('audio rows arrive in order', async (t) => {
  const runner = runnerOf(1);
  const seen: number[] = [];
  const prefill = runner.prefill.bind(runner);
  runner.prefill = async (slot, ids, audio) => {
    if (audio) seen.push(...audio);
    return prefill(slot, ids, audio);
  };
  const promptIds = Int32Array.from([4, AUDIO, AUDIO, AUDIO, AUDIO, 9]);
  const audio = Float32Array.from({ length: 8 }, (_, i) => i);
  await scheduler(runner, 3).submit({ promptIds, embeds: audio, maxNewTokens: 4, temperature: 0, seed: 1 }).result;
  t.same(seen, [0, 1, 2, 3, 4, 5, 6, 7]);
});

t.test('a runner failure fails the sequences of that step only; the loop goes on', async (t) => {
  const runner = runnerOf(2);
  const sched = scheduler(runner);
  runner.failDecodeWhen = (slots) => slots.length === 2;
  const a = sched.submit(spec(6));
  const b = sched.submit(spec(6));
  await t.rejects(a.result, { code: 'ERR_DECODER_FAILED', kind: 'internal', message: /device lost/ });
  await t.rejects(b.result, { code: 'ERR_DECODER_FAILED' });
  const c = await sched.submit(spec(4)).result;
  t.same(c.tokens, expectedTokens(4, 4));
});

t.test('close() cancels everything', async (t) => {
  const runner = runnerOf(1);
  const sched = scheduler(runner);
  const a = sched.submit(spec(15, 4, { maxNewTokens: 500 }));
  const b = sched.submit(spec(3));
  const rejected = [t.rejects(a.result, { code: 'ERR_CANCELLED' }), t.rejects(b.result, { code: 'ERR_CANCELLED' })];
  await sched.close();
  await Promise.all(rejected);
  t.same(sched.stats().running, 0);
});

t.test('a sequence submitted just as the last one finishes still runs', async (t) => {
  const runner = runnerOf(1);
  const sched = scheduler(runner);
  const chained = await sched.submit(spec(2)).result.then(() => sched.submit(spec(3)).result);
  t.same(chained.tokens, expectedTokens(3, 4));
});
