// answer_prefix on the real fp32 runners and the golden tiny checkpoint: a clip
// is greedy-decoded in full; then the first k tokens of that answer are forced
// (as text, tokenized with the prompt as the official qwen-asr streaming does)
// and the continuation must be the rest of the answer, token for token, with the
// same log-probabilities within float tolerance (prefill vs decode-step kernels).
// Also: the unfixed-token drop, forced_text + deltas = text, the bounds and
// the errors (control tokens, several segments, bad types), and that the
// descriptor declares the reader's bounds.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { readFormValue, type FieldSchema } from '../src/server/request-fields.js';
import { repoRoot } from '../src/util/paths.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import { ANSWER_PREFIX_LIMITS, readDecodeParams } from '../stages/qwen3-asr/decode/request-params.js';
import { transcribe, type EncodedSegment, type TranscriptionJob } from '../stages/qwen3-asr/decode/transcription.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { createDecoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { promptText } from '../stages/qwen3-asr/text/prompt.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';
import { TestContext } from './qwen3-asr-sched-double.js';

const golden = new GoldenSet(path.join(repoRoot(), 'test/fixtures/golden/qwen3-asr-tiny'));
const tmp = path.join(repoRoot(), 'test/.tmp/answer-prefix');
fs.rmSync(tmp, { recursive: true, force: true });
const text = loadAsrText(golden.checkpoint);
const { tokenizer, codec } = text;
const runner = await createDecoderRunner({ modelPath: golden.checkpoint, cacheDir: path.join(tmp, 'cache'), precision: 'fp32', device: 'cpu', threads: 1, maxSlots: 4, maxContext: 512 });
t.teardown(() => runner.dispose());
const scheduler = new BatchScheduler(runner, { eosIds: text.eosIds, embedTokenId: text.audioTokenId, prefillChunkTokens: 64 });
/** Greedy answers of this length; the continuation is asked for exactly what is left. */
const ANSWER = 40;
/** Log-probabilities of the same token after a prefill or after decode steps: same math, other kernels (measured ≤ 2.0e-6). */
const LOGPROB_TOL = 1e-5;

const segmentOf = (input: string): EncodedSegment => {
  const audio = golden.floats(`${input}.enc`);
  const tokens = golden.manifest.inputs[input].audio_tokens;
  return { start: 0, end: golden.manifest.inputs[input].samples / 16000, audio, tokens };
};
const job = (segments: EncodedSegment[], extra: Partial<TranscriptionJob>): TranscriptionJob => ({
  segments, context: '', temperature: 0, seed: 1, stream: true, logprobs: true, maxSegmentsInFlight: 4, budget: { perS: 10, min: 128 }, ...extra,
});

async function run(j: TranscriptionJob) {
  const ctx = new TestContext();
  const result = await transcribe(scheduler, codec, j, ctx);
  return { result, deltas: ctx.deltas.join('') };
}

/** True when `prefix` forced after the prompt tokenizes to exactly `ids` (BPE may merge differently than the model wrote). */
function roundTrips(ids: number[], language: string | undefined): boolean {
  const base = tokenizer.encode(promptText('', language));
  const whole = tokenizer.encode(promptText('', language, tokenizer.decode(ids)));
  return whole.length === base.length + ids.length && ids.every((id, i) => whole[base.length + i] === id);
}

const CASES = [['forced English', 'English'], ['language detected', undefined]] as const;

t.test('engine: a prompt ending in the first k answer tokens continues with the rest, for every k', async (t) => {
  for (const [label, language] of CASES) {
    for (const input of golden.inputs) {
      const segment = segmentOf(input);
      const promptIds = codec.promptIds('', segment.tokens, language);
      const spec = { embeds: segment.audio, temperature: 0, seed: 1 };
      const full = await scheduler.submit({ ...spec, promptIds, maxNewTokens: ANSWER }).result;
      t.equal(full.tokens.length, ANSWER, `${label} ${input}: a greedy answer of ${ANSWER} tokens`);
      let worst = 0;
      for (let k = 1; k < ANSWER; k++) {
        const forced = Int32Array.from([...promptIds, ...full.tokens.slice(0, k)]);
        const cont = await scheduler.submit({ ...spec, promptIds: forced, maxNewTokens: ANSWER - k }).result;
        t.same(cont.tokens, full.tokens.slice(k), `${label} ${input} k=${k}: the rest, token for token`);
        worst = Math.max(worst, ...cont.logprobs.map((lp, i) => Math.abs(lp - full.logprobs[k + i])));
      }
      t.ok(worst <= LOGPROB_TOL, `${label} ${input}: continuation logprobs max |Δ| ${worst.toExponential(2)} ≤ ${LOGPROB_TOL} (prefilled vs decode-step rows)`);
    }
  }
});

t.test('answer_prefix text: forcing the start of the greedy answer gives the same answer, text and deltas after forced_text', async (t) => {
  let checked = 0;
  for (const [label, language] of CASES) {
    for (const input of golden.inputs) {
      const segment = segmentOf(input);
      const full = await run(job([segment], { language, maxNewTokens: ANSWER }));
      const answer = full.result.segments[0].tokens;
      t.equal(full.deltas, full.result.text, `${label} ${input}: deltas = text without a prefix`);
      for (let k = 1; k < answer.length; k++) {
        // The random-weight model writes byte soup: only cuts whose text tokenizes back to the same ids
        // can be forced as text (the engine test above covers every cut at the token level).
        const forced = answer.slice(0, k);
        if (forced.some((id) => tokenizer.isSpecial(id)) || !roundTrips(forced, language)) continue;
        checked++;
        const { result, deltas } = await run(job([segment], { language, maxNewTokens: ANSWER - k, answerPrefix: { text: tokenizer.decode(forced), unfixedTokens: 0 } }));
        t.same(result.segments[0].tokens, answer, `${label} ${input} k=${k}: forced ${k} + continuation = the full answer`);
        t.equal(result.text, full.result.text, `${label} ${input} k=${k}: same text`);
        t.equal(result.forced_text! + deltas, result.text, `${label} ${input} k=${k}: forced_text + deltas = text`);
      }
    }
  }
  t.ok(checked >= 3, `${checked} cut points checked as text`);
});

t.test('answer_prefix_unfixed_tokens drops tokens from the end (at least one kept), never inside a character', async (t) => {
  const ids = tokenizer.encode('hello world again');
  t.ok(ids.length >= 3);
  t.equal(codec.answerPrefix!('hello world again', 0), 'hello world again');
  t.equal(codec.answerPrefix!('hello world again', 2), tokenizer.decode(ids.slice(0, ids.length - 2)));
  t.equal(codec.answerPrefix!('hello world again', 1000), tokenizer.decode(ids.slice(0, 1)), 'the first token stays, as max(1, n - k) in qwen-asr');
  // "é" is two bytes: in a byte-level vocabulary without the merge it is two tokens.
  const accented = 'abé';
  const accentedIds = tokenizer.encode(accented);
  const cut = codec.answerPrefix!(accented, 1);
  t.notOk(cut.includes('\uFFFD'), `no U+FFFD forced (${JSON.stringify(cut)} from ${accentedIds.length} tokens)`);
  t.ok(accented.startsWith(cut), 'the kept text is a prefix of the sent text');
  const segment = segmentOf(golden.inputs[0]);
  const full = await run(job([segment], { language: 'English', maxNewTokens: ANSWER }));
  const unfixed = await run(job([segment], { language: 'English', maxNewTokens: ANSWER, answerPrefix: { text: full.result.text, unfixedTokens: 3 } }));
  t.ok(full.result.text.startsWith(unfixed.result.forced_text!), 'the forced part is the sent text less its tail');
  t.ok(unfixed.result.forced_text!.length < full.result.text.length, 'three tokens were left unfixed');
});

t.test('bad prefixes: control tokens, several segments, wrong types and sizes (invalid_input naming the field)', async (t) => {
  const invalid = (param: string) => ({ code: 'ERR_INVALID_PARAM', kind: 'invalid_input', param });
  const segment = segmentOf(golden.inputs[0]);
  for (const bad of ['hi<|im_end|>', '<|audio_pad|>', 'a<|im_start|>user']) {
    await t.rejects(run(job([segment], { answerPrefix: { text: bad, unfixedTokens: 0 } })), invalid('answer_prefix'), bad);
  }
  const echoed = await run(job([segment], { language: 'English', maxNewTokens: 4, answerPrefix: { text: 'x<asr_text>y', unfixedTokens: 0 } }));
  t.ok(echoed.result.text.startsWith('x<asr_text>y'), 'what a result text may hold (<asr_text> is not special) can be sent back');
  const ok = await run(job([segment], { maxNewTokens: 4, answerPrefix: { text: 'language English<asr_text>', unfixedTokens: 0 } }));
  t.equal(ok.result.language, 'English', 'the model header may be forced when the language is not');
  t.equal(ok.result.forced_text, '', 'a forced header shows no transcript text');
  await t.rejects(run(job([segment, segment], { answerPrefix: { text: 'hi', unfixedTokens: 0 } })), invalid('answer_prefix'), 'two segments');

  const read = (params: unknown) => readDecodeParams(params, (v) => v);
  t.same(read({ answer_prefix: 'hi', answer_prefix_unfixed_tokens: 5 }).answerPrefix, { text: 'hi', unfixedTokens: 5 });
  t.same(read({ answer_prefix: 'hi' }).answerPrefix, { text: 'hi', unfixedTokens: 0 });
  t.equal(read({ answer_prefix: '' }).answerPrefix, undefined, 'an empty prefix forces nothing');
  t.notOk('answerPrefix' in read({}), 'absent: no key');
  t.throws(() => read({ answer_prefix: 5 }), invalid('answer_prefix'));
  t.throws(() => read({ answer_prefix: 'x'.repeat(ANSWER_PREFIX_LIMITS.maxChars + 1) }), invalid('answer_prefix'));
  t.ok(read({ answer_prefix: 'x'.repeat(ANSWER_PREFIX_LIMITS.maxChars) }).answerPrefix);
  for (const n of [-1, 1.5, '3', ANSWER_PREFIX_LIMITS.maxUnfixedTokens + 1]) {
    t.throws(() => read({ answer_prefix: 'hi', answer_prefix_unfixed_tokens: n }), invalid('answer_prefix_unfixed_tokens'), String(n));
  }

  const descriptor = parse(fs.readFileSync(path.join(repoRoot(), 'stages/qwen3-asr/decoder.plugin.yaml'), 'utf8')) as { request: Record<string, Record<string, unknown>> };
  t.match(descriptor.request.answer_prefix, { type: 'string', maxLength: ANSWER_PREFIX_LIMITS.maxChars }, 'the HTTP route checks the same length');
  t.match(descriptor.request.answer_prefix_unfixed_tokens, { type: 'integer', minimum: 0, maximum: ANSWER_PREFIX_LIMITS.maxUnfixedTokens });
  // The HTTP route reads declared fields with this schema: a 400 naming the field before the pipeline.
  const badForm = (param: string) => ({ status: 400, code: 'invalid_value', param });
  const form = (name: string, value: string) => readFormValue(name, [value], descriptor.request[name] as FieldSchema);
  t.equal(form('answer_prefix', 'Hello wor'), 'Hello wor');
  t.equal(form('answer_prefix_unfixed_tokens', '5'), 5);
  t.throws(() => form('answer_prefix', 'x'.repeat(ANSWER_PREFIX_LIMITS.maxChars + 1)), badForm('answer_prefix'));
  t.throws(() => form('answer_prefix_unfixed_tokens', '-1'), badForm('answer_prefix_unfixed_tokens'));
});
