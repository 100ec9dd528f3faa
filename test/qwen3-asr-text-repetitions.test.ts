// The output cleanup against the official toolkit: golden pairs written by
// tools/golden/make_repetitions.py from transformers 5.17's _detect_and_fix_repetitions
// (character runs, patterns of 1-25 characters around the threshold, CJK, emoji outside
// the BMP, thresholds 2-20) and _parse_single_output's transcript for loops behind the
// `language X<asr_text>` header. Every pair must match exactly.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { fixRepetitions, parseAsrOutput } from '../stages/qwen3-asr/text/parse.js';

interface Golden {
  source: string;
  fix: { threshold: number; input: string; output: string }[];
  parse: { input: string; transcription: string }[];
}
const golden = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/golden/repetitions.json'), 'utf8')) as Golden;

t.test(`fixRepetitions equals ${golden.source} on every generated case`, async (t) => {
  const changed = golden.fix.filter((c) => c.input !== c.output).length;
  t.ok(changed > golden.fix.length / 2 && changed < golden.fix.length, `the set exercises both outcomes (${changed} of ${golden.fix.length} changed)`);
  t.ok(new Set(golden.fix.map((c) => c.threshold)).size >= 3, 'several thresholds');
  const wrong = golden.fix.filter((c) => fixRepetitions(c.input, c.threshold) !== c.output);
  t.same(wrong.slice(0, 3).map((c) => ({ ...c, ours: fixRepetitions(c.input, c.threshold) })), [], `${wrong.length} of ${golden.fix.length} differ`);
});

t.test('parseAsrOutput gives the official transcript for raw outputs with loops', async (t) => {
  const wrong = golden.parse.filter((c) => parseAsrOutput(c.input, undefined).text !== c.transcription);
  t.same(wrong.slice(0, 3).map((c) => ({ ...c, ours: parseAsrOutput(c.input, undefined).text })), [], `${wrong.length} of ${golden.parse.length} differ`);
});
