// Issue 11, item 4: a hostile upload that costs seconds of decode and resample work (120 s of
// FLAC at 383,990 Hz, 19 KB) must not hold up a normal request sent after it. The normal one is
// sent once the hostile one is inside the decode stage, and must be answered first: by event
// order, not by a timed bound (bench/fairness.ts measures the latencies). At 5b77086 the normal
// request queued behind the hostile one's single-threaded 4163-tap resample and came second.
// With several hostile uploads the decode stage itself was the queue: at a9e3c27 (4 slots) four of
// them took every slot and a normal WAV waited for one (31.6 s vs 0.12 s idle); every admitted
// request now decodes, taking turns, so the normal one is answered before all of them.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { buildConstantFlac } from './fixtures/audio/flac-writer.js';
import { DecodeBudget } from '../stages/audio/decode-budget.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const server = await startTinyServer();
t.teardown(() => server.close());

function post(bytes: Uint8Array): Promise<number> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), 'audio');
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '4');
  return fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: AbortSignal.timeout(120_000) }).then(async (res) => (await res.arrayBuffer(), res.status));
}

/** Resolves once the decode stage has `count` items (polling the pipeline's own counters). */
async function decodeBusy(count = 1): Promise<void> {
  const holds = () => server.pipeline.stats().some((s) => s.stage === 'decode' && s.running + s.queued >= count);
  for (let i = 0; i < 20000; i++) {
    if (holds()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`the decode stage never held ${count} uploads`);
}

t.test('a normal request sent behind a hostile one is answered first', async (t) => {
  const hostile = buildConstantFlac({ seconds: 120, declaredSamples: 0, sampleRate: 383990, channels: 1 });
  const normal = new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));
  const order: string[] = [];
  const first = post(hostile).then((status) => order.push(`hostile ${status}`));
  await decodeBusy();
  const second = post(normal).then((status) => order.push(`normal ${status}`));
  await Promise.all([first, second]);
  t.same(order, ['normal 200', 'hostile 200']);
});

t.test('a normal request sent behind four hostile ones is answered before all of them', async (t) => {
  const hostile = buildConstantFlac({ seconds: 120, declaredSamples: 0, sampleRate: 383990, channels: 1 });
  const normal = new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav')));
  const order: string[] = [];
  const hostiles = [0, 1, 2, 3].map(() => post(hostile).then((status) => order.push(`hostile ${status}`)));
  await decodeBusy(4);
  const second = post(normal).then((status) => order.push(`normal ${status}`));
  await Promise.all([...hostiles, second]);
  t.same(order, ['normal 200', 'hostile 200', 'hostile 200', 'hostile 200', 'hostile 200']);
});

t.test('the decode memory budget: a long reservation waits, a short one goes past it, a cancelled wait leaves', async (t) => {
  const budget = new DecodeBudget(100);
  await budget.take(80, new AbortController().signal);
  const granted: string[] = [];
  const long = budget.take(50, new AbortController().signal).then(() => granted.push('long'));
  const gone = new AbortController();
  const cancelled = budget.take(60, gone.signal);
  await budget.take(20, new AbortController().signal); // fits beside the 80: not held behind the waiting 50
  t.equal(budget.usedBytes, 100);
  gone.abort();
  await t.rejects(cancelled, { code: 'ERR_CANCELLED' });
  budget.give(80);
  await long;
  t.same(granted, ['long']);
  t.equal(budget.usedBytes, 70);
  t.notOk(budget.tryTake(31), 'the budget bounds what is taken without waiting too');
});
