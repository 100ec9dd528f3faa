// Hotwords that don't leak (prompt-echo.ts): the rule on hand-picked texts, the
// streaming filter agreeing with the final strip however the text is cut into
// pieces, and how often the rule fires on generated cases — every echo of the
// list is removed, speech that merely uses the terms is left alone, and the one
// family the rule cannot tell from an echo (speech that reads the whole list
// out first) is counted, not hidden.
import t from 'tap';
import { seededRandom } from '../stages/common/engine/prng.js';
import { dropEchoLogprobs, matchEcho, PromptEchoFilter, promptTerms, stripPromptEcho } from '../stages/qwen3-asr/decode/prompt-echo.js';

const strip = (prompt: string, text: string) => stripPromptEcho(text, promptTerms(prompt)).text;

t.test('the term list', async (t) => {
  t.same(promptTerms('Qwen-ASR, DashScope, FFmpeg'), ['Qwen-ASR', 'DashScope', 'FFmpeg']);
  t.same(promptTerms('通义千问，阿里云、魔搭'), ['通义千问', '阿里云', '魔搭']);
  t.same(promptTerms('Nvidia;\nONNX Runtime;;'), ['Nvidia', 'ONNX Runtime']);
  t.equal(promptTerms('Nvidia'), undefined, 'one term: the rule does not apply');
  t.equal(promptTerms('A talk about cars'), undefined, 'a sentence without separators is context, not a list');
  t.equal(promptTerms(''), undefined);
});

t.test('an echo at the start is removed, with the separators after it', async (t) => {
  const prompt = 'Qwen-ASR, DashScope, FFmpeg';
  t.equal(strip(prompt, 'Qwen-ASR, DashScope, FFmpeg. We deployed it yesterday.'), 'We deployed it yesterday.');
  t.equal(strip(prompt, 'Qwen-ASR DashScope FFmpeg we deployed it'), 'we deployed it', 'other separators');
  t.equal(strip(prompt, '  Qwen-ASR、DashScope；FFmpeg：hello'), 'hello');
  t.equal(strip(prompt, 'Qwen-ASR, DashScope, FFmpeg'), '', 'nothing but the echo');
  t.equal(strip('通义千问，阿里云', '通义千问，阿里云。今天天气很好。'), '今天天气很好。');
});

t.test('speech that uses the terms is left alone', async (t) => {
  const prompt = 'Qwen-ASR, DashScope, FFmpeg';
  for (const text of [
    'DashScope hosts Qwen-ASR and FFmpeg.', // not from the start / other order
    'Qwen-ASR, DashScope and FFmpeg are tools.', // a word between two terms
    'Qwen-ASR, DashScope, FFmpegs everywhere.', // the last term goes on as a word
    'qwen-asr, dashscope, ffmpeg. hello', // not as written
    'Qwen-ASR, DashScope. Then FFmpeg.', // the list is broken
    'We use Qwen-ASR, DashScope, FFmpeg.', // not at the start
    'Qwen-ASR is great.',
  ]) t.equal(strip(prompt, text), text, text);
  t.equal(strip('Nvidia', 'Nvidia announced a chip.'), 'Nvidia announced a chip.', 'a one-term prompt never strips');
});

t.test('streaming decides as the final strip does, however the text is cut', async (t) => {
  const cases: [string, string][] = [
    ['Qwen-ASR, DashScope, FFmpeg', 'Qwen-ASR, DashScope, FFmpeg. We deployed it.'],
    ['Qwen-ASR, DashScope, FFmpeg', 'Qwen-ASR, DashScope, FFmpegs everywhere.'],
    ['Qwen-ASR, DashScope, FFmpeg', 'Qwen-ASR, DashScope and FFmpeg.'],
    ['Qwen-ASR, DashScope, FFmpeg', 'Qwen-ASR, DashScope, FFmpeg'],
    ['Qwen-ASR, DashScope, FFmpeg', 'Qwen'],
    ['alpha, beta', 'alpha beta, , gamma'],
    ['通义千问，阿里云', '通义千问，阿里云。今天天气很好。'],
  ];
  const random = seededRandom(5);
  for (const [prompt, text] of cases) {
    const want = strip(prompt, text);
    for (let trial = 0; trial < 30; trial++) {
      const filter = new PromptEchoFilter(promptTerms(prompt));
      let got = '';
      for (let i = 0; i < text.length;) {
        const n = 1 + Math.floor(random() * 6);
        got += filter.push({ text: text.slice(i, i + n) }).text;
        i += n;
      }
      got += filter.flush().text;
      if (got !== want) {
        t.equal(got, want, `${text} (trial ${trial})`);
        break;
      }
    }
    t.pass(`${JSON.stringify(text)} → ${JSON.stringify(want)} in 30 random cuts`);
  }
  t.same(matchEcho('Qwen-ASR, Dash', ['Qwen-ASR', 'DashScope'], false), { kind: 'partial' }, 'held while it may still be an echo');
});

t.test('logprobs of the echo go with it', async (t) => {
  const lp = (token: string) => ({ token, logprob: -0.1, bytes: [...Buffer.from(token)] });
  const entries = ['alpha', ',', ' beta', '.', ' Hello', ' there'].map(lp);
  t.same(dropEchoLogprobs(entries, 'alpha, beta. ').map((e) => e.token), [' Hello', ' there']);
  const spaced = [' ', 'Hi'].map(lp);
  t.same(dropEchoLogprobs(spaced, ''), spaced, 'no echo: every entry stays, a whitespace token too');
  const filter = new PromptEchoFilter(['alpha', 'beta']);
  const out = entries.map((e) => filter.push({ text: e.token, logprobs: [e] }));
  out.push(filter.flush());
  t.same(out.map((p) => p.text).join(''), 'Hello there');
  t.same(out.flatMap((p) => p.logprobs ?? []).map((e) => e.token), [' Hello', ' there'], 'streamed: the echo\'s tokens are dropped');
});

/** Generated cases: term lists and sentences from small pools, a seeded generator, each family counted. */
t.test('how often the rule fires on generated cases', async (t) => {
  const random = seededRandom(2026);
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
  const TERMS = ['Qwen-ASR', 'DashScope', 'FFmpeg', 'ONNX Runtime', 'Kubernetes', 'PyTorch', 'Nvidia', 'sglang', 'vLLM', 'Whisper', 'LibriVox', 'Fastify', 'Piscina', '通义千问', '阿里云', '魔搭', 'Dr. Okafor', 'St. Petersburg'];
  const WORDS = ['we', 'shipped', 'the', 'model', 'yesterday', 'and', 'it', 'runs', 'fast', 'on', 'our', 'servers', 'today', 'please', 'check', 'logs', 'with', 'team'];
  const SEPARATORS = [', ', ',', '; ', '、', '，', ' ', ' , '];
  const sentence = () => Array.from({ length: 4 + Math.floor(random() * 8) }, () => pick(WORDS)).join(' ') + '.';
  const termList = () => {
    const n = 2 + Math.floor(random() * 4);
    const terms: string[] = [];
    while (terms.length < n) {
      const term = pick(TERMS);
      if (!terms.includes(term)) terms.push(term);
    }
    return terms;
  };
  const joinTerms = (terms: string[]) => terms.map((term, i) => (i ? pick(SEPARATORS) : '') + term).join('');
  const families: Record<string, { build: (terms: string[], speech: string) => string; expectStrip: boolean }> = {
    'echo, then speech': { build: (terms, speech) => `${joinTerms(terms)}${pick(['. ', ' ', ', ', '。'])}${speech}`, expectStrip: true },
    'echo only': { build: (terms) => joinTerms(terms), expectStrip: false /* nothing left to keep: checked below */ },
    'speech only': { build: (_terms, speech) => speech, expectStrip: false },
    'speech starting with the first term': { build: (terms, speech) => `${terms[0]} ${speech}`, expectStrip: false },
    'terms in another order first': { build: (terms, speech) => `${joinTerms([...terms].reverse())} ${speech}`, expectStrip: false },
    'terms joined by "and" first': { build: (terms, speech) => `${terms.join(' and ')} ${speech}`, expectStrip: false },
    'list after the first word': { build: (terms, speech) => `So ${joinTerms(terms)}. ${speech}`, expectStrip: false },
    'speech that reads the list out first': { build: (terms, speech) => `${terms.join(', ')}: ${speech}`, expectStrip: true },
  };
  const N = 500;
  for (const [name, family] of Object.entries(families)) {
    let stripped = 0;
    let exact = 0;
    for (let i = 0; i < N; i++) {
      const terms = termList();
      const speech = sentence();
      const text = family.build(terms, speech);
      const prompt = terms.join(pick([', ', '; ', '，', '\n']));
      const out = strip(prompt, text);
      if (out !== text) stripped++;
      if (name === 'echo only' ? out === '' : out === (family.expectStrip ? speech : text)) exact++;
    }
    t.comment(`${name}: stripped ${stripped}/${N} (${((100 * stripped) / N).toFixed(1)} %)`);
    t.equal(exact, N, `${name}: every case as the rule says`);
  }
});
