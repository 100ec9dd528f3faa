// The runtime on test stages: routing, batching, transfer, events, per-item errors.
import t from 'tap';
import { PipelineError, type Payload } from '../src/runtime/contracts.js';
import { fixtureStage, startTestPipeline, waitFor } from './fixtures/stages/pipeline-helper.js';

const routes = [{ path: '/v1/audio/features', handler: 'features' }]; // startTestPipeline's route

t.test('a request walks a → b → c and keeps its id', async (t) => {
  const pipeline = await startTestPipeline(t, {
    a: { plugin: fixtureStage('echo'), next: 'b', options: { tag: 'A' } },
    b: { plugin: fixtureStage('echo'), next: 'c', options: { tag: 'B' } },
    c: { plugin: fixtureStage('echo'), options: { tag: 'C' } },
  });
  t.same(pipeline.health(), { ready: true });
  t.same(pipeline.routes.map(({ path, handler }) => ({ path, handler })), routes);
  t.match(pipeline.routes[0].module, /dist\/src\/server\/handlers\/features\.js$/, 'the handler module the server imports');
  const out = await pipeline.submit({ visited: [] }, { id: 'req-1' });
  t.same(out.visited, ['A', 'B', 'C']);
  t.same((out.trace as Payload[]).map((s) => [s.stage, s.id]), [['a', 'req-1'], ['b', 'req-1'], ['c', 'req-1']]);
  // An item settles when its result arrives; its task counts as running until the worker returns.
  await waitFor(() => pipeline.stats().every((s) => s.running === 0));
  t.match(pipeline.stats(), [
    { stage: 'a', queued: 0, running: 0, completed: 1, failed: 0 },
    { stage: 'b', completed: 1 },
    { stage: 'c', completed: 1 },
  ]);
});

t.test('waiting items are batched up to batch.max_size; a lone item is not held back', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('echo'), batch: { max_size: 4 } } });
  const lone = await pipeline.submit({});
  t.equal((lone.trace as Payload[])[0].batch, 1);
  const outs = await Promise.all(Array.from({ length: 9 }, () => pipeline.submit({})));
  const sizes = outs.map((o) => (o.trace as Payload[])[0].batch as number);
  t.same([...sizes].sort(), [1, 4, 4, 4, 4, 4, 4, 4, 4], 'one worker: batches of 4, 4, then the 1 left');
});

t.test('buffers are transferred to the worker, not copied', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('echo') } });
  const bytes = new ArrayBuffer(1 << 20);
  new Uint8Array(bytes).fill(7);
  const samples = new Float32Array(4096);
  const pending = pipeline.submit({ bytes, nested: { samples } });
  const out = await pending;
  t.equal(bytes.byteLength, 0, 'the caller’s ArrayBuffer is detached');
  t.equal(samples.length, 0, 'typed arrays in nested objects are detached too');
  t.equal((out.trace as Payload[])[0].bytes, 1 << 20, 'the worker saw the whole buffer');
  const back = out.bytes as ArrayBuffer;
  t.equal(back.byteLength, 1 << 20);
  t.equal(new Uint8Array(back)[12345], 7, 'the bytes came back intact');
  t.equal(((out.nested as Payload).samples as Float32Array).length, 4096);
});

t.test('events reach onEvent in order before the result', async (t) => {
  const pipeline = await startTestPipeline(t, {
    a: { plugin: fixtureStage('echo'), next: 'b' },
    b: { plugin: fixtureStage('events'), options: { count: 4 } },
  });
  const events: Payload[] = [];
  const out = await pipeline.submit({ word: 'w' }, { onEvent: (e) => events.push(e) });
  t.same(events.map((e) => e.delta), ['w0', 'w1', 'w2', 'w3']);
  t.same(events.map((e) => Array.from(e.index as Float32Array)), [[0], [1], [2], [3]]);
  t.equal(out.text, 'w0 w1 w2 w3');
});

t.test('per-item StageError becomes a PipelineError with kind, code and param; the runtime gives no HTTP status', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('events') } });
  await t.rejects(pipeline.submit({ word: 1 }), { code: 'ERR_TEST_WORD', message: 'word must be a string', kind: 'invalid_input', status: undefined, param: 'word' });
  t.match(pipeline.stats()[0], { completed: 0, failed: 1 });
});

t.test('one bad item fails alone; a throwing process() fails its batch with 500', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('faulty'), batch: { max_size: 4 } } });
  const results = await Promise.allSettled([pipeline.submit({}), pipeline.submit({ fault: 'item' }), pipeline.submit({})]);
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.match((results[1] as PromiseRejectedResult).reason, { code: 'ERR_TEST_BAD_ITEM', kind: 'invalid_input', status: undefined, param: 'file', message: 'this item is bad' });
  await t.rejects(pipeline.submit({ fault: 'throw' }), { code: 'ERR_STAGE_FAILED', kind: 'internal', status: undefined, message: 'stage a failed: process blew up' });
  const after = await pipeline.submit({});
  t.type(after.threadId, 'number', 'the stage keeps serving');
});

t.test('a payload that cannot cross threads fails that request with 500, not the stage', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('echo') } });
  await t.rejects(pipeline.submit({ callback: () => 1 }), { code: 'ERR_STAGE_FAILED', kind: 'internal', status: undefined, message: /^a payload for stage a cannot cross threads: / });
  t.same((await pipeline.submit({ visited: [] })).visited, ['echo']);
});
