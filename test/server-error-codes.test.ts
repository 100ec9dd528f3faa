// Every error code a client can receive is in docs/ERRORS.md: the codes the
// server's handlers answer with (apiError / new ApiError in src/server), the
// runtime's, and every ERR_* code written in the built-in stages' sources (a stage's
// code reaches the wire as it is, lower case without ERR_). The search here is
// deliberately cruder than the page's generator (any 'ERR_…' string literal in
// stages/), so a code the generator cannot read still fails this test.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { RUNTIME_ERRORS } from '../src/runtime/errors.js';
import { errorDocsPath } from '../src/server/error-docs.js';
import { ERRORS, wireCode } from '../src/server/errors.js';
import { scanStageErrorCodes } from '../src/server/stage-error-codes.js';
import { repoRoot } from '../src/util/paths.js';

const page = fs.readFileSync(errorDocsPath(), 'utf8');
const documented = new Set([...page.matchAll(/^\| `([a-z0-9_]+)`/gm)].map((m) => m[1]));

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    return e.isDirectory() ? sources(file) : e.name.endsWith('.ts') ? [file] : [];
  });
}

t.test('every ERR_ code in the built-in stages is on the page, with its status', async (t) => {
  // An Error class with a code and no kind (`readonly code = 'ERR_KV_CAPACITY'`) never reaches the wire
  // under its code: toErrorInfo makes it stage_failed (or a runner wraps it in its own code), so it is left out.
  const texts = sources(path.join(repoRoot(), 'stages')).map((file) => fs.readFileSync(file, 'utf8'));
  t.notOk(texts.some((text) => /readonly code = 'ERR_/.test(text) && /readonly kind\b/.test(text)), 'no such class has a kind');
  const codes = new Set(texts.flatMap((text) => [...text.matchAll(/(?<!readonly code = )'(ERR_[A-Z0-9_]+)'/g)].map((m) => m[1])));
  t.ok(codes.size >= 20, `${codes.size} codes written in stages/`);
  const missing = [...codes].filter((code) => !documented.has(wireCode(code)));
  t.same(missing, [], 'none missing from docs/ERRORS.md');
});

t.test('every code the server\'s own modules answer with is in the catalogue and on the page', async (t) => {
  const texts = sources(path.join(repoRoot(), 'src', 'server')).map((file) => fs.readFileSync(file, 'utf8'));
  const used = new Set(texts.flatMap((text) => [
    ...[...text.matchAll(/apiError\(\s*'([a-z_]+)'/g)].map((m) => m[1]),
    ...[...text.matchAll(/new ApiError\(\s*\d+\s*,\s*'([a-z_]+)'/g)].map((m) => m[1]),
  ]));
  t.ok(used.size >= 10, `${used.size} codes used in src/server`);
  t.same([...used].filter((code) => !(code in ERRORS)), [], 'each in src/server/errors.ts');
  t.same([...Object.keys(ERRORS), ...Object.keys(RUNTIME_ERRORS).map(wireCode)].filter((code) => !documented.has(code)), [], 'each on the page');
});

t.test('the generator finds a stage\'s code, its kind and one raised through a helper', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stage-codes-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'gain'));
  fs.writeFileSync(path.join(dir, 'gain', 'errors.ts'), [
    "export const ERR_GAIN_RANGE = 'ERR_GAIN_RANGE';",
    "const ERR_GAIN_FAILED = 'ERR_GAIN_FAILED';",
    'export function failed(code: string, err: unknown) {',
    "  return new StageError(code, `${String(err)}`, 'internal');",
    '}',
    "export const tooLoud = (db: number) => new StageError(ERR_GAIN_RANGE, `gain ${db} dB is over ` + 'the limit, 24 dB', 'invalid_input', 'gain');",
    'export const wrap = (err: unknown) => failed(ERR_GAIN_FAILED, err);',
  ].join('\n'));
  t.same(scanStageErrorCodes([path.join(dir, 'gain')], dir), [
    { code: 'ERR_GAIN_RANGE', kind: 'invalid_input', folders: ['gain'], message: 'gain … dB is over the limit, 24 dB' },
    { code: 'ERR_GAIN_FAILED', kind: 'internal', folders: ['gain'], message: "(failed: the underlying error's message)" },
  ]);
});
