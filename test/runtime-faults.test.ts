// Faults stay contained: crashed workers fail only their items and are replaced,
// stages that fail to load make the pipeline unhealthy, cancels reach queued and running work.
import t from 'tap';
import type { Payload } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { fixtureStage, loadTestPipeline, startTestPipeline, waitFor } from './fixtures/stages/pipeline-helper.js';

for (const fault of ['crash', 'exit'] as const) {
  t.test(`a worker that dies (${fault}) fails only its items and is replaced`, async (t) => {
    const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('faulty'), workers: 2 } });
    const threadsOf = async (n: number) => new Set((await Promise.all(Array.from({ length: n }, () => pipeline.submit({})))).map((o: Payload) => o.threadId));
    const before = await threadsOf(2);

    const [dead, alive] = await Promise.allSettled([pipeline.submit({ fault }), pipeline.submit({})]);
    t.match(dead, { status: 'rejected', reason: { code: 'ERR_STAGE_CRASHED', kind: 'internal', status: undefined, message: /^stage a worker crashed: / } });
    t.equal(alive.status, 'fulfilled', 'the other worker’s item succeeded');

    // The replacement may still be starting; pairs of requests reach it once it is up.
    let replaced = false;
    for (let round = 0; round < 100 && !replaced; round++) {
      replaced = [...(await threadsOf(2))].some((id) => !before.has(id));
    }
    t.ok(replaced, 'a new worker thread serves requests');
    t.same(pipeline.health(), { ready: true });
    await threadsOf(8); // both live workers have published
    t.equal(pipeline.stageMetrics!().a.workers, 2, "the dead worker's counters left the stage's sums");
    await waitFor(() => pipeline.stats()[0].running === 0);
    t.match(pipeline.stats()[0], { failed: 1, queued: 0 });
  });
}

t.test('a stage that fails to load: ready() rejects, health says why, submit answers 503', async (t) => {
  const resolved = await loadTestPipeline({
    name: 'broken',
    routes: ['/v1/audio/transcriptions'],
    entry: 'a',
    stages: { a: { plugin: fixtureStage('echo'), next: 'b' }, b: { plugin: fixtureStage('broken-create') } },
  });
  const pipeline = createPipeline(resolved, { modelPath: '/models/missing' });
  t.teardown(() => pipeline.close());
  t.match(pipeline.health(), { ready: false, reason: /stage b: 0\/1 workers loaded/ });
  await t.rejects(pipeline.ready(), { code: 'ERR_STAGE_UNAVAILABLE', message: 'stage b failed to load: cannot open weights in /models/missing' });
  t.match(pipeline.health(), { ready: false, reason: /stage b failed to load: cannot open weights in \/models\/missing/ });
  await t.rejects(pipeline.submit({}), { code: 'ERR_STAGE_UNAVAILABLE', kind: 'unavailable', status: undefined });
});

t.test('cancel: queued items leave the queue, running items are signalled in the worker', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('hold'), options: { hold_ms: 10000 } } });
  const stats = () => pipeline.stats()[0];

  const running = new AbortController();
  const cancelFlag = new Int32Array(new SharedArrayBuffer(4));
  const first = pipeline.submit({ cancelFlag }, { signal: running.signal });
  await waitFor(() => stats().running === 1);

  const queued = new AbortController();
  const second = pipeline.submit({}, { signal: queued.signal });
  await waitFor(() => stats().queued === 1);
  queued.abort();
  await t.rejects(second, { code: 'ERR_CANCELLED', kind: 'cancelled', status: undefined });
  t.equal(stats().queued, 0, 'the queued item is gone');

  running.abort();
  await t.rejects(first, { code: 'ERR_CANCELLED', kind: 'cancelled', status: undefined });
  await waitFor(() => Atomics.load(cancelFlag, 0) === 1);
  t.pass('the running item saw ctx.onCancel in its worker');

  const next = await pipeline.submit({ hold_ms: 0 });
  t.equal(next.held, true, 'the worker is free again');
  await t.rejects(pipeline.submit({}, { signal: AbortSignal.abort() }), { code: 'ERR_CANCELLED' });
});
