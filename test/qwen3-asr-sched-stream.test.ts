// Streamed deltas: the `language X<asr_text>` header never reaches the client,
// and segments decoded in parallel come out in order with a seam between them.
import t from 'tap';
import { OrderedDeltas } from '../stages/common/engine/ordered-deltas.js';
import { LanguageHeaderFilter } from '../stages/qwen3-asr/decode/language-header.js';

const run = (filter: LanguageHeaderFilter, pieces: string[]) => [...pieces.map((p) => filter.push(p)), filter.flush()].filter((d) => d);

t.test('the detected-language header is held back, token by token', async (t) => {
  t.same(run(new LanguageHeaderFilter(false), ['language', ' English', '<asr_text>', 'Hello', ' world', '.']), ['Hello', ' world', '.']);
  t.same(run(new LanguageHeaderFilter(false), ['lang', 'uage Eng', 'lish<as', 'r_te', 'xt> And', ' so']), ['And', ' so'], 'tag split across pieces; leading space trimmed');
  t.same(run(new LanguageHeaderFilter(false), ['language None', '<asr_text>']), [], 'no speech: nothing');
});

t.test('text that is not a header passes through', async (t) => {
  t.same(run(new LanguageHeaderFilter(false), ['Hello', ' there']), ['Hello', ' there']);
  t.same(run(new LanguageHeaderFilter(false), ['lang', 'ley']), ['langley'], 'held while it could be a header, then released whole');
  t.same(run(new LanguageHeaderFilter(false), ['language ', 'is hard <b>']), ['language is hard <b>']);
  t.same(run(new LanguageHeaderFilter(false), ['language', ' English']), ['language English'], 'an unclosed header is text at the end');
  const long = 'language ' + 'x'.repeat(80);
  t.same(run(new LanguageHeaderFilter(false), [long, ' y']), [long, ' y'], 'a 64+ character "header" is text');
});

t.test('with a forced language everything is transcript', async (t) => {
  t.same(run(new LanguageHeaderFilter(true), [' language', ' English', '<asr_text>']), ['language', ' English', '<asr_text>']);
});

t.test('segments stream in order; later ones wait for earlier ones', async (t) => {
  const out: string[] = [];
  const deltas = new OrderedDeltas(3, (d) => out.push(d), (before, after) => (/[a-z.]$/i.test(before) && /^[a-z]/i.test(after) ? ' ' : ''));
  deltas.push(1, 'second');
  deltas.push(0, 'first');
  deltas.push(2, '三');
  t.same(out, ['first']);
  deltas.push(0, '.');
  deltas.finish(0);
  t.same(out, ['first', '.', ' second'], 'segment 1 released with a seam when segment 0 is done');
  deltas.push(1, ' part');
  t.same(out.at(-1), ' part', 'segment 1 is now live');
  deltas.finish(2);
  t.equal(out.length, 4, 'segment 2 waits for 1 even though it is done');
  deltas.finish(1);
  t.same(out, ['first', '.', ' second', ' part', '三'], 'no seam before a CJK character');
});

t.test('an empty segment adds no seam', async (t) => {
  const out: string[] = [];
  const deltas = new OrderedDeltas(3, (d) => out.push(d), () => ' ');
  deltas.push(0, 'a');
  deltas.finish(0);
  deltas.finish(1);
  deltas.push(2, 'c');
  deltas.finish(2);
  t.same(out, ['a', ' c']);
});
