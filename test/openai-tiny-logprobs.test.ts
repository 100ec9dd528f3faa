// include[]=logprobs and repetition_penalty against the real server on the tiny
// checkpoint (pipelines/qwen3-asr.yaml, greedy, so runs repeat exactly): json
// lists one entry per generated transcript token whose logprobs average to
// verbose_json's avg_logprob; the stream's deltas add up to the done event's
// list, which equals json's; repetition_penalty reaches the sampler (greedy output
// changes) and a bad one is a 400 naming it.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';

const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
const server = await startTinyServer();
t.teardown(() => server.close());

function post(fields: Record<string, string>): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'jfk.wav');
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
}

type Entry = { token: string; logprob: number; bytes: number[] };
// A forced language keeps the header out of the output; a cap with no EOS before it makes every
// generated token a transcript token, so avg_logprob averages exactly the listed entries.
const FIELDS = { language: 'en', max_new_tokens: '12' };

t.test('json logprobs: one per generated token, the same numbers verbose_json averages', async (t) => {
  const json = await (await post({ ...FIELDS, 'include[]': 'logprobs' })).json() as { text: string; logprobs: Entry[]; usage: unknown };
  const verbose = await (await post({ ...FIELDS, response_format: 'verbose_json' })).json() as { segments: { tokens: number[]; avg_logprob: number }[] };
  t.same(json.usage, { type: 'duration', seconds: 11 });
  const tokens = verbose.segments.flatMap((s) => s.tokens);
  t.ok(json.logprobs.length > 0, `${json.logprobs.length} entries`);
  t.equal(json.logprobs.length, tokens.length, 'one entry per generated token');
  t.ok(json.logprobs.every((e) => e.logprob <= 0 && e.bytes.length > 0 && e.bytes.every((b) => b >= 0 && b < 256)), 'log-probabilities and bytes');
  if (verbose.segments.every((s) => s.tokens.length === 12)) {
    const perSegment = verbose.segments.map((s, i) => json.logprobs.slice(i * 12, (i + 1) * 12));
    perSegment.forEach((entries, i) => {
      const mean = entries.reduce((sum, e) => sum + e.logprob, 0) / entries.length;
      t.ok(Math.abs(mean - verbose.segments[i].avg_logprob) < 1e-9, `segment ${i}: mean ${mean} = avg_logprob ${verbose.segments[i].avg_logprob}`);
    });
  } else {
    t.comment('a segment ended on EOS before the cap; the average check needs every token to be transcript');
  }
});

t.test('stream: the deltas\' logprobs add up to the done event\'s, which are json\'s', async (t) => {
  const json = await (await post({ ...FIELDS, 'include[]': 'logprobs' })).json() as { logprobs: Entry[] };
  const body = await (await post({ ...FIELDS, 'include[]': 'logprobs', stream: 'true' })).text();
  const events = body.split('\n\n').filter((f) => f.startsWith('data: {')).map((f) => JSON.parse(f.slice(6)));
  const done = events.at(-1);
  t.equal(done.type, 'transcript.text.done');
  t.same(done.logprobs, json.logprobs);
  t.same(events.slice(0, -1).flatMap((e) => e.logprobs ?? []), json.logprobs);
});

t.test('repetition_penalty reaches the sampler; a bad one is a 400 naming it', async (t) => {
  const tokens = async (fields: Record<string, string>) => ((await (await post({ language: 'en', max_new_tokens: '40', response_format: 'verbose_json', ...fields })).json()) as { segments: { tokens: number[] }[] }).segments.flatMap((s) => s.tokens);
  const plain = await tokens({});
  t.same(await tokens({ repetition_penalty: '1' }), plain, 'penalty 1 is off: the same greedy tokens');
  const penalised = await tokens({ repetition_penalty: '2' });
  t.notSame(penalised, plain, 'penalty 2 changes what greedy picks');
  const distinct = (ids: number[]) => new Set(ids).size / ids.length;
  t.ok(distinct(penalised) >= distinct(plain), `share of distinct tokens ${distinct(plain).toFixed(2)} → ${distinct(penalised).toFixed(2)}`);
  for (const value of ['0', '-1', '2.5', ' 1', 'high']) {
    const res = await post({ repetition_penalty: value });
    t.equal(res.status, 400, value);
    t.match((await res.json()).error, { param: 'repetition_penalty', code: 'invalid_value', message: /^repetition_penalty must be a decimal number above 0 and at most 2/ });
  }
});
