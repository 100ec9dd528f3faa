// Bounded work: full stage queues and a full pipeline refuse with 503 + Retry-After
// instead of growing; close() fails what is left after the drain deadline.
import t from 'tap';
import { createPipeline } from '../src/runtime/pipeline.js';
import { fixtureStage, loadTestPipeline, startTestPipeline, waitFor } from './fixtures/stages/pipeline-helper.js';

const hold = { plugin: fixtureStage('hold'), options: { hold_ms: 10000 } };
const settled = (p: Promise<unknown>) => p.then(() => 'resolved', (err: { code?: string }) => err.code);

t.test('a full stage queue answers 503 ERR_QUEUE_FULL; close() fails the rest', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { ...hold, queue: { max: 2 } } }, { drain_timeout_s: 0, admission: { retry_after_s: 3 } });
  const stats = () => pipeline.stats()[0];
  const held = [pipeline.submit({})];
  await waitFor(() => stats().running === 1);
  held.push(pipeline.submit({}), pipeline.submit({}));
  await waitFor(() => stats().queued === 2);
  const outcomes = held.map(settled);

  await t.rejects(pipeline.submit({}), { code: 'ERR_QUEUE_FULL', kind: 'overloaded', status: undefined, retryAfterS: 3, message: 'stage a queue is full (2 waiting)' });
  t.equal(stats().queued, 2, 'the queue did not grow');

  await pipeline.close();
  t.same(await Promise.all(outcomes), ['ERR_SHUTTING_DOWN', 'ERR_SHUTTING_DOWN', 'ERR_SHUTTING_DOWN']);
  await t.rejects(pipeline.submit({}), { code: 'ERR_SHUTTING_DOWN', kind: 'unavailable', status: undefined });
  t.match(pipeline.health(), { ready: false, reason: 'shutting down' });
});

t.test('admission: max_running run, max_waiting wait, the rest get 503 ERR_OVERLOADED', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { ...hold, concurrency: 4 } }, { admission: { max_running: 1, max_waiting: 2, retry_after_s: 2 } });
  const stats = () => pipeline.stats()[0];
  const first = new AbortController();
  const running = pipeline.submit({}, { signal: first.signal });
  await waitFor(() => stats().running === 1);

  const leaving = new AbortController();
  const waitingThenCancelled = pipeline.submit({}, { signal: leaving.signal });
  const waiting = pipeline.submit({ hold_ms: 0 });
  await t.rejects(pipeline.submit({}), { code: 'ERR_OVERLOADED', kind: 'overloaded', status: undefined, retryAfterS: 2 });
  t.match(stats(), { running: 1, queued: 0 }, 'waiting requests wait before the graph, not in a stage');

  leaving.abort();
  await t.rejects(waitingThenCancelled, { code: 'ERR_CANCELLED' });
  first.abort();
  await t.rejects(running, { code: 'ERR_CANCELLED' });
  t.match(await waiting, { held: true }, 'the freed slot went to the waiting request');
});

t.test('close() during loading rejects ready() and releases the process', async (t) => {
  const resolved = await loadTestPipeline({ name: 'early', routes: ['/v1/audio/transcriptions'], entry: 'a', stages: { a: { plugin: fixtureStage('echo') } } });
  const pipeline = createPipeline(resolved, { modelPath: '/models/test' });
  await pipeline.close();
  await t.rejects(pipeline.ready(), { code: 'ERR_SHUTTING_DOWN' });
});
