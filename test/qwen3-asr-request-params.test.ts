// The decoder reads payload.params through the transcription contract's one
// reader: the ranges are the contract's (temperature 0..1, as the HTTP handler
// and OpenAI allow; the stage alone used to accept up to 2), every bad field is
// a 400 naming it, and the decoder's descriptor declares the same ranges.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parse } from 'yaml';
import { PARAM_LIMITS } from '../src/contracts/transcription.js';
import { repoRoot } from '../src/util/paths.js';
import { readDecodeParams } from '../stages/qwen3-asr/decode/request-params.js';

const resolve = (value: string) => (value === 'en' ? 'English' : value);
const read = (params: unknown) => readDecodeParams(params, resolve);
const invalid = (param: string) => ({ code: 'ERR_INVALID_PARAM', kind: 'invalid_input', param });

t.test('temperature is the contract range, the same the HTTP handler applies', async (t) => {
  t.equal(read({ temperature: 1 }).temperature, 1);
  t.equal(read({ temperature: 0 }).temperature, 0);
  for (const temperature of [1.5, 2, -0.1, Number.NaN, '0.5']) t.throws(() => read({ temperature }), invalid('temperature'), String(temperature));
});

t.test('every field is checked and named; absent fields take their defaults', async (t) => {
  const out = read({ language: 'en', prompt: 'Cars.', max_new_tokens: 7, seed: 2 ** 32 - 1, stream: true, logprobs: false, repetition_penalty: 1.2 });
  t.same(out, { language: 'English', context: 'Cars.', temperature: 0, maxNewTokens: 7, seed: 2 ** 32 - 1, stream: true, logprobs: false, tokenLogprobs: false, repetitionPenalty: 1.2 });
  const defaults = read(undefined);
  t.same({ ...defaults, seed: 0 }, { language: undefined, context: '', temperature: 0, maxNewTokens: undefined, seed: 0, stream: false, logprobs: true, tokenLogprobs: false, repetitionPenalty: 1 });
  t.match(read({ logprobs: false, include: ['logprobs'] }), { logprobs: true, tokenLogprobs: true }, 'include[]=logprobs turns the sampler\'s logprob pass on');
  t.ok(Number.isInteger(defaults.seed) && defaults.seed >= 0 && defaults.seed < 2 ** 32, 'a seed is drawn when none is sent');
  t.throws(() => read([]), invalid('params'));
  t.throws(() => read({ language: 1 }), invalid('language'));
  t.throws(() => read({ prompt: 1 }), invalid('prompt'));
  t.throws(() => read({ max_new_tokens: 0 }), invalid('max_new_tokens'));
  t.throws(() => read({ max_new_tokens: 1.5 }), invalid('max_new_tokens'));
  t.throws(() => read({ seed: 2 ** 32 }), invalid('seed'));
  t.throws(() => read({ stream: 'yes' }), invalid('stream'));
  t.throws(() => read({ logprobs: 1 }), invalid('logprobs'));
  for (const include of ['logprobs', ['tokens'], [1]]) t.throws(() => read({ include }), invalid('include'), JSON.stringify(include));
  for (const penalty of [0, -1, 2.01, Number.NaN, '1.1']) t.throws(() => read({ repetition_penalty: penalty }), invalid('repetition_penalty'), String(penalty));
  t.equal(read({ repetition_penalty: 2 }).repetitionPenalty, 2);
});

t.test("the decoder descriptor's request ranges are the contract's", async (t) => {
  const descriptor = parse(fs.readFileSync(path.join(repoRoot(), 'stages/qwen3-asr/decoder.plugin.yaml'), 'utf8')) as { request: Record<string, { minimum?: number; maximum?: number; exclusiveMinimum?: number }> };
  const ranges = (field: string) => ({ min: descriptor.request[field].minimum, max: descriptor.request[field].maximum });
  t.same(ranges('temperature'), PARAM_LIMITS.temperature);
  t.same(ranges('seed'), PARAM_LIMITS.seed);
  t.same(ranges('max_new_tokens'), { min: PARAM_LIMITS.max_new_tokens.min, max: undefined });
  const penalty = descriptor.request.repetition_penalty;
  t.same({ exclusiveMin: penalty.exclusiveMinimum, max: penalty.maximum }, PARAM_LIMITS.repetition_penalty);
});
