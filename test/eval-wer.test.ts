// WER alignment against NIST sclite: the committed scores (fixtures/eval/sclite)
// and, when sctk is installed, a live sclite run on the same files.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { alignTokens, errorRate, sumCounts, type AlignOptions, type ErrorCounts } from '../src/eval/wer.js';

const FIXTURE = path.join(repoRoot(), 'test', 'fixtures', 'eval', 'sclite');
const SCLITE = '/usr/lib/sctk/bin/sclite';

interface Scores {
  hits: number;
  substitutions: number;
  deletions: number;
  insertions: number;
}

/** sclite trn lines: "words ... (id)". */
function readTrn(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of fs.readFileSync(path.join(FIXTURE, file), 'utf8').split('\n')) {
    const m = /^(.*)\((\S+)\)\s*$/.exec(line);
    if (m) out.set(m[2], m[1].split(/\s+/).filter(Boolean));
  }
  return out;
}

const refs = readTrn('ref.trn');
const hyps = readTrn('hyp.trn');
const fixture = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'sclite-scores.json'), 'utf8')) as {
  totals: Scores & { refWords: number; wer: number };
  utterances: Record<string, Scores>;
};

function scoreAll(options: AlignOptions): Map<string, ErrorCounts> {
  return new Map([...refs].map(([id, ref]) => [id, alignTokens(ref, hyps.get(id)!, options)]));
}

const pick = ({ hits, substitutions, deletions, insertions }: Scores): Scores => ({ hits, substitutions, deletions, insertions });

t.test('sclite objective reproduces sclite per utterance and in total', async (t) => {
  const ours = scoreAll({ objective: 'sclite' });
  t.equal(ours.size, 31);
  for (const [id, expected] of Object.entries(fixture.utterances)) t.same(pick(ours.get(id)!), expected, id);
  const total = sumCounts([...ours.values()]);
  t.same(pick(total), pick(fixture.totals));
  t.equal(total.refTokens, fixture.totals.refWords);
  t.equal(Number(errorRate(total)!.toFixed(6)), fixture.totals.wer);
});

t.test('fewest-errors objective (jiwer) differs from sclite only where sclite trades errors for weight', async (t) => {
  const ours = scoreAll({});
  const errors = (s: Scores) => s.substitutions + s.deletions + s.insertions;
  for (const [id, expected] of Object.entries(fixture.utterances)) {
    const got = ours.get(id)!;
    if (id === 'eval_11') {
      // "a b c x y" → "x y d e f": 5 substitutions beat sclite's 3 D + 3 I
      t.same(pick(got), { hits: 0, substitutions: 5, deletions: 0, insertions: 0 }, id);
      t.equal(errors(expected), 6);
    } else t.same(pick(got), expected, id);
  }
  const total = sumCounts([...ours.values()]);
  t.same(pick(total), { hits: 139, substitutions: 29, deletions: 25, insertions: 20 });
  t.equal(errorRate(total), 74 / 193);
});

t.test('alignment edits and edge cases', async (t) => {
  const a = alignTokens('the cat sat on the mat'.split(' '), 'the cat sit on mat now'.split(' '));
  t.same(
    a.edits.map((e) => `${e.kind[0]}:${e.ref ?? ''}>${e.hyp ?? ''}`),
    ['h:the>the', 'h:cat>cat', 's:sat>sit', 'h:on>on', 'd:the>', 'h:mat>mat', 'i:>now'],
  );
  t.equal(a.errorRate, 3 / 6);
  const empty = alignTokens([], ['extra']);
  t.equal(empty.insertions, 1);
  t.equal(empty.errorRate, null, 'WER of an empty reference is undefined');
  t.equal(alignTokens(['a'], []).errorRate, 1);
  t.equal(alignTokens([], []).edits.length, 0);
});

const scliteInstalled = fs.existsSync(SCLITE);
t.test('live sclite agrees with the fixture', { skip: scliteInstalled ? false : 'sctk not installed' }, async (t) => {
  const report = execFileSync(SCLITE, ['-r', 'ref.trn', 'trn', '-h', 'hyp.trn', 'trn', '-i', 'spu_id', '-o', 'pralign', 'stdout'], {
    cwd: FIXTURE,
    encoding: 'utf8',
  });
  const live: Record<string, Scores> = {};
  for (const m of report.matchAll(/^id: \((\S+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)/gm)) {
    live[m[1]] = { hits: +m[2], substitutions: +m[3], deletions: +m[4], insertions: +m[5] };
  }
  t.same(live, fixture.utterances);
});
