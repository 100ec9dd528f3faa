// include[]=logprobs on the decoder side: each transcript token's
// { token, logprob, bytes } in the segment and in the streamed deltas, header
// tokens left out (or all tokens with a forced language), exact bytes from the
// byte-level vocabulary (a token holding half a character keeps its bytes), and
// nothing computed when the request did not ask.
import t from 'tap';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import { transcribe, type EncodedSegment, type TranscriptionJob } from '../stages/qwen3-asr/decode/transcription.js';
import { byteLevelBytes } from '../stages/qwen3-asr/text/byte-level.js';
import type { AsrTextCodec } from '../stages/qwen3-asr/text/index.js';
import { loadQwenTokenizer } from '../stages/qwen3-asr/text/tokenizer.js';
import { ScriptedRunner, TestContext } from './qwen3-asr-sched-double.js';
import { makeQwenVocabFixture } from './qwen3-asr-text-fixture.js';

const VOCAB = ['<eos>', 'language', '\u0120English', '<asr_text>', 'Hel', 'lo', '\u0120w', '\u00c3', '\u00b6', 'rld', '<pad>', ',', '\u0120lo', '<ctx>'];
const id = (piece: string) => VOCAB.indexOf(piece);
const [EOS, AUDIO] = [id('<eos>'), id('<pad>')];
// Byte-level spelling: Ġ is the space; "ö" is two tokens, one byte each (0xC3 0xB6, spelled Ã ¶).
const SCRIPT = ['language', '\u0120English', '<asr_text>', 'Hel', 'lo', '\u0120w', '\u00c3', '\u00b6', 'rld'].map(id);
const FORCED = ['Hel', 'lo'].map(id);
// With the prompt "Hel, w" the model reads the list back first: "Hel, w, lorld".
const ECHO = ['language', '\u0120English', '<asr_text>', 'Hel', ',', '\u0120w', ',', '\u0120lo', 'rld'].map(id);
const bytesOf = (i: number) => (i === id('<asr_text>') ? [...Buffer.from('<asr_text>')] : byteLevelBytes(VOCAB[i])!);
const text = (ids: number[]) => Buffer.from(ids.flatMap(bytesOf)).toString('utf8');

const codec: AsrTextCodec = {
  promptIds: (context, audioTokens, language) => Int32Array.from([...(context ? [id('<ctx>')] : []), ...new Array(audioTokens).fill(AUDIO), ...(language ? [id('language')] : [])]),
  // Holds a partial character back, as the real streaming detokenizer does.
  detokenizer: () => {
    let pending: number[] = [];
    return {
      push: (i) => {
        pending.push(i);
        const s = text(pending);
        if (s.endsWith('\ufffd')) return '';
        pending = [];
        return s;
      },
      flush: () => text(pending),
    };
  },
  decode: (tokens) => text(Array.from(tokens)),
  parse: (raw, forced) => (forced ? { text: raw, language: forced } : { text: raw.split('<asr_text>')[1] ?? raw, language: 'English' }),
  join: (texts) => texts.join(' '),
  seam: () => ' ',
  mergeLanguages: (langs) => langs[0] ?? '',
  textTagId: id('<asr_text>'),
  tokenBytes: bytesOf,
  isSpecial: (i) => i === EOS || i === AUDIO || i === id('<ctx>'),
};

function setup() {
  const runner = new ScriptedRunner({
    maxSlots: 2,
    maxContext: 256,
    vocabSize: VOCAB.length,
    audioTokenId: AUDIO,
    audioRowSize: 2,
    next: (prompt, i) => (prompt.includes(id('language')) ? FORCED : prompt.includes(id('<ctx>')) ? ECHO : SCRIPT)[i] ?? EOS,
  });
  return new BatchScheduler(runner, { eosIds: [EOS], embedTokenId: AUDIO, prefillChunkTokens: 64 });
}

const segment: EncodedSegment = { start: 0, end: 2, tokens: 1, audio: new Float32Array(2) };
const job = (extra: Partial<TranscriptionJob>): TranscriptionJob => ({ segments: [segment], context: '', temperature: 0, seed: 1, stream: false, logprobs: true, maxSegmentsInFlight: 2, budget: { perS: 10, min: 128 }, ...extra });
// The double puts logit 20 on the scripted token and 0 on the other 10: log softmax = 20 - ln(e^20 + 10).
const LOGPROB = 20 - Math.log(Math.exp(20) + 10);

t.test('segment logprobs: the transcript tokens after <asr_text>, exact bytes, the model\'s logprob', async (t) => {
  const out = await transcribe(setup(), codec, job({ tokenLogprobs: true }), new TestContext());
  const entries = out.segments[0].logprobs!;
  t.same(entries.map((e) => e.bytes), [[72, 101, 108], [108, 111], [32, 119], [0xc3], [0xb6], [114, 108, 100]]);
  t.same(entries.map((e) => e.token), ['Hel', 'lo', ' w', '\ufffd', '\ufffd', 'rld'], 'half a character shows U+FFFD, as OpenAI\'s tokens do');
  t.equal(Buffer.from(entries.flatMap((e) => e.bytes)).toString('utf8'), 'Hello wörld', 'the bytes spell the transcript');
  for (const e of entries) t.ok(Math.abs(e.logprob - LOGPROB) < 1e-6, `${JSON.stringify(e.token)}: ${e.logprob} ≈ ${LOGPROB}`);
});

t.test('streamed deltas carry the logprobs of the tokens they show; the pieces add up to the segment\'s', async (t) => {
  const ctx = new TestContext();
  const out = await transcribe(setup(), codec, job({ tokenLogprobs: true, stream: true }), ctx);
  t.same(ctx.events.map((e) => [e.delta, (e.logprobs as { token: string }[]).map((l) => l.token)]), [
    ['Hel', ['Hel']], ['lo', ['lo']], [' w', [' w']], ['ö', ['\ufffd', '\ufffd']], ['rld', ['rld']],
  ], 'the header tokens are dropped; the two halves of ö arrive with ö');
  t.same(ctx.events.flatMap((e) => e.logprobs as unknown[]), out.segments[0].logprobs);
});

t.test('forced language: the header is in the prompt, every generated token is transcript', async (t) => {
  const out = await transcribe(setup(), codec, job({ tokenLogprobs: true, language: 'English' }), new TestContext());
  t.same(out.segments[0].logprobs!.map((e) => e.token), ['Hel', 'lo']);
});

t.test('not asked: no logprobs in segments or deltas', async (t) => {
  const ctx = new TestContext();
  const out = await transcribe(setup(), codec, job({ stream: true }), ctx);
  t.equal(out.segments[0].logprobs, undefined);
  t.ok(ctx.events.every((e) => !('logprobs' in e)));
});

t.test('the real Qwen vocabulary: token bytes spell the text exactly, across split characters', async (t) => {
  const fixture = makeQwenVocabFixture();
  t.teardown(fixture.cleanup);
  const tokenizer = loadQwenTokenizer(fixture.fastDir);
  for (const sample of ['Hello, world', 'wörld 😀👍🏽 𝄞 龘 中文，今天', 'Ça va? ПРИВЕТ мир <asr_text>x']) {
    const ids = tokenizer.encode(sample);
    t.same(Buffer.from(ids.flatMap((i) => tokenizer.tokenBytes(i))), Buffer.from(sample, 'utf8'), sample);
  }
  const emoji = tokenizer.encode('𝄞');
  t.ok(emoji.length > 1 && emoji.some((i) => tokenizer.decode([i]).includes('\ufffd')), 'a rare character spans tokens that decode to U+FFFD alone');
});

t.test('a prompt echo leaves the text, the deltas and the logprobs alike', async (t) => {
  const ctx = new TestContext();
  const out = await transcribe(setup(), codec, job({ context: 'Hel, w', tokenLogprobs: true, stream: true }), ctx);
  t.equal(out.text, 'lorld', '"Hel, w, " was the list read back');
  t.same(ctx.events.map((e) => e.delta).join(''), 'lorld');
  t.same(out.segments[0].logprobs!.map((e) => e.token), [' lo', 'rld'], 'the echo\'s tokens are gone');
  t.same(ctx.events.flatMap((e) => (e.logprobs as { token: string }[]).map((l) => l.token)), [' lo', 'rld']);
  const other = await transcribe(setup(), codec, job({ context: 'w, Hel' }), new TestContext());
  t.equal(other.text, 'Hel, w, lorld', 'another order: not an echo, kept');
});
