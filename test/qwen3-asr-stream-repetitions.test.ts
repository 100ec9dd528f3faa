// Streamed text agrees with the final text when the model loops: the repetition
// cleanup (qwen-asr's detect_and_fix_repetitions, threshold 20) trims a loop from
// the final text, so the stream must never show the copies it trims. Checked on
// the golden cleanup pairs of the official toolkit (test/fixtures/golden/
// repetitions.json) streamed in random pieces, on the golden raw outputs behind
// the `language X<asr_text>` header through the segment stream, and over HTTP on
// the tiny checkpoint, which loops on '\n' with the loop guard off: the
// concatenated SSE deltas equal the done event's text and the JSON answer's.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { segmentStream } from '../stages/qwen3-asr/decode/segment-stream.js';
import type { AsrTextCodec } from '../stages/qwen3-asr/text/index.js';
import { fixRepetitions, RepetitionScanner, type Shown } from '../stages/qwen3-asr/text/repetitions.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';

interface Golden {
  fix: { threshold: number; input: string; output: string }[];
  parse: { input: string; transcription: string }[];
}
const golden = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/golden/repetitions.json'), 'utf8')) as Golden;

/** mulberry32: the same pieces on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

const text = (shown: Shown[]) => shown.map((c) => c.ch).join('');

/** `text` cut into pieces of 1..maxLength code points, as tokens would come. */
function pieces(text: string, next: () => number, maxLength = 4): string[] {
  const chars = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < chars.length;) {
    const n = 1 + Math.floor(next() * maxLength);
    out.push(chars.slice(i, i + n).join(''));
    i += n;
  }
  return out;
}

t.test('the cleanup streamed in pieces gives the official output, never showing what it trims', async (t) => {
  const next = random(7);
  let wrong = 0;
  for (const c of golden.fix) {
    for (const maxLength of [1, 5]) {
      const scanner = new RepetitionScanner(c.threshold);
      let shown = '';
      for (const piece of pieces(c.input, next, maxLength)) {
        shown += text(scanner.push(piece));
        if (!c.output.startsWith(shown)) break; // shown text is never taken back: it must stay a prefix
      }
      shown += text(scanner.flush());
      if (shown !== c.output) wrong++;
    }
  }
  t.equal(wrong, 0, `${golden.fix.length} golden pairs, each streamed in pieces of 1 and of 1-5 characters`);
  const changed = golden.fix.filter((c) => c.input !== c.output).length;
  t.ok(changed > 100, `${changed} of them are loops the cleanup trims`);
});

t.test('random texts full of near-loops: streamed in random pieces = cleaned whole', async (t) => {
  const next = random(5);
  let wrong = 0;
  let cases = 0;
  for (const threshold of [3, 20]) {
    for (let n = 0; n < 300; n++) {
      // Units of 1-6 characters from a 3-letter alphabet, each repeated 1 to 2·threshold times.
      let input = '';
      while (input.length < 60 + threshold * 12) {
        const unit = Array.from({ length: 1 + Math.floor(next() * 6) }, () => 'ab '[Math.floor(next() * 3)]).join('');
        input += unit.repeat(1 + Math.floor(next() * 2 * threshold));
      }
      const scanner = new RepetitionScanner(threshold);
      const streamed = pieces(input, next, 6).map((p) => text(scanner.push(p))).join('') + text(scanner.flush());
      cases++;
      if (streamed !== fixRepetitions(input, threshold)) wrong++;
    }
  }
  t.equal(wrong, 0, `${cases} random texts`);
});

t.test('ordinary text is shown as it comes: only a repeat in progress at its end is held', async (t) => {
  const speech = 'And so, my fellow Americans, ask not what your country can do for you; ask what you can do for your country.';
  const scanner = new RepetitionScanner(20);
  let shown = '';
  let seen = '';
  let held = 0;
  for (const piece of pieces(speech, random(3))) {
    shown += text(scanner.push(piece));
    seen += piece;
    if (!seen.startsWith(shown)) break;
    held = Math.max(held, seen.length - shown.length);
  }
  t.ok(held <= 8, `at most ${held} characters held behind the newest`);
  t.equal(shown + text(scanner.flush()), speech);
  // A loop building up: one copy is shown (here from the space before it), its copies are held until the cleanup decides.
  const loop = new RepetitionScanner(20);
  const start = text(loop.push('I said ' + 'no way, '.repeat(10)));
  t.equal(start, 'I said no way,', 'one copy of a possible loop, not its copies');
  const rest = text(loop.push('no way, '.repeat(15) + 'fine.')) + text(loop.flush());
  t.equal(start + rest, 'I said no way, fine.', '25 copies: the rest of the loop is never shown');
});

// The segment stream with a codec whose "tokens" are pieces of a golden raw output.
function streamOf(raw: string, next: () => number): string {
  const parts = pieces(raw, next, 3);
  let i = 0;
  const codec = { detokenizer: () => ({ push: () => parts[i++], flush: () => '' }) } as unknown as AsrTextCodec;
  const stream = segmentStream(codec, { headerInPrompt: false, tokenLogprobs: false });
  let text = '';
  for (let k = 0; k < parts.length; k++) text += stream.push(k, Number.NaN) as string;
  return text + (stream.flush() as string);
}

t.test('golden raw outputs with loops behind the language header: the streamed text is the official transcript', async (t) => {
  const next = random(11);
  const wrong = golden.parse.filter((c) => streamOf(c.input, next) !== c.transcription);
  t.same(wrong.slice(0, 3).map((c) => ({ ...c, streamed: streamOf(c.input, next) })), [], `${wrong.length} of ${golden.parse.length} differ`);
});

t.test('over HTTP, on a model that loops: SSE deltas joined = the done text = the JSON answer', async (t) => {
  const server = await startTinyServer();
  t.teardown(() => server.close());
  const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
  const post = async (stream: boolean) => {
    const form = new FormData();
    form.append('file', new Blob([wav], { type: 'audio/wav' }), 'jfk.wav');
    for (const [k, v] of Object.entries({ temperature: '0', max_new_tokens: '300', stream: String(stream) })) form.append(k, v);
    const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
    t.equal(res.status, 200);
    return res.text();
  };
  const events = (await post(true)).split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)) as { type: string; delta?: string; text?: string });
  const joined = events.filter((e) => e.type === 'transcript.text.delta').map((e) => e.delta).join('');
  const done = events.find((e) => e.type === 'transcript.text.done');
  const json = JSON.parse(await post(false)) as { text: string };
  t.equal(joined, done?.text, 'deltas joined = the done event\'s text');
  t.equal(json.text, done?.text, 'the same text as without streaming');
  t.comment(`text ${JSON.stringify(json.text)}`);
});
