// The graph cache's housekeeping (stages/common/graph/cache.ts): a hit marks its entry used; a
// build removes entries of the same name and model config with another key that were not opened
// for STALE_AFTER_MS, and nothing else (other names or configs, recent entries, temporary
// folders, files).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { STALE_AFTER_MS, ensureCachedGraph } from '../stages/common/graph/cache.js';

/** `<config>-<key>` as graphCacheKey makes them: 8 and 16 hex digits. */
const key = (n: number, config = 'abcdef01') => `${config}-${n.toString(16).padStart(16, '0')}`;

t.test('a build removes same-name entries unused for a week; a hit marks its entry used', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-graph-cache-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const entry = (name: string, ageMs: number) => {
    const p = path.join(dir, name);
    fs.mkdirSync(p, { recursive: true });
    fs.writeFileSync(path.join(p, 'model.onnx'), 'x');
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(p, when, when);
    return p;
  };
  const week = STALE_AFTER_MS;
  entry(`m-decoder-int8-${key(1)}`, week + 3600e3); // same name, stale: removed
  entry(`m-decoder-int8-${key(2)}`, week - 3600e3); // same name, used within the week: kept
  entry(`m-decoder-int8-pc-${key(3)}`, 2 * week); // another name: kept
  entry(`m-encoder-int8-${key(4)}`, 2 * week); // another part: kept
  entry(`m-decoder-int8-${key(8, '12345678')}`, 2 * week); // another model's config: kept
  entry(`m-decoder-int8-${key(5)}.tmp-999999-abcdef12`, 2 * week); // a temporary folder is not an entry
  fs.writeFileSync(path.join(dir, 'weight-digests.decoder.json'), '{}');
  const hit = entry(`m-decoder-int8-${key(6)}`, 2 * week); // stale, but used now: kept

  let builds = 0;
  ensureCachedGraph(dir, `m-decoder-int8-${key(6)}`, () => { builds++; });
  t.equal(builds, 0, 'a hit builds nothing');
  t.ok(Date.now() - fs.statSync(hit).mtimeMs < 60e3, 'and marks its entry used');
  t.equal(fs.readdirSync(dir).length, 8, 'a hit removes nothing');

  const model = ensureCachedGraph(dir, `m-decoder-int8-${key(7)}`, (out) => { builds++; fs.writeFileSync(path.join(out, 'model.onnx'), 'y'); });
  t.equal(builds, 1);
  t.equal(fs.readFileSync(model, 'utf8'), 'y', 'the new entry');
  t.same(fs.readdirSync(dir).sort(), [
    `m-decoder-int8-${key(2)}`, `m-decoder-int8-${key(5)}.tmp-999999-abcdef12`, `m-decoder-int8-${key(6)}`, `m-decoder-int8-${key(7)}`,
    `m-decoder-int8-pc-${key(3)}`, `m-encoder-int8-${key(4)}`, `m-decoder-int8-${key(8, '12345678')}`, 'weight-digests.decoder.json',
  ].sort(), 'only the same-name entry unused for over a week is gone');
});
