// Stage workers' log lines carry the request id of the item they concern (reqId,
// the HTTP request's X-Request-Id) and the stage's name, so one request can be
// followed from its HTTP lines through every stage; a line about a batch names
// all its requests (reqIds).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { buildServer } from '../src/server/app.js';
import { FAKE_WAV, multipartBody } from './fixtures/server/scripted-pipeline.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { fixtureStage, loadTestPipeline, startTestPipeline, waitFor } from './fixtures/stages/pipeline-helper.js';

type Line = Record<string, unknown>;

function capture(): { lines: Line[]; stream: Writable } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  return { lines, stream };
}

t.test('a request followed from the HTTP line into the worker: same reqId, the stage named', async (t) => {
  const { lines, stream } = capture();
  const logger = pino({ level: 'debug' }, stream);
  const pipeline = await startTestPipeline(t, { first: { plugin: fixtureStage('log'), next: 'second' }, second: { plugin: fixtureStage('log') } }, {}, logger);
  const app = await buildServer({ pipeline, servedModelNames: ['m'], logger });
  t.teardown(() => app.close());
  const { body, contentType } = await multipartBody({}, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
  const res = await app.inject({ method: 'POST', url: '/v1/audio/features', headers: { 'content-type': contentType, 'x-request-id': 'trace-42' }, payload: body });
  t.equal(res.statusCode, 200, res.body);
  await waitFor(() => lines.filter((l) => l.msg === 'item seen').length === 2);
  const mine = lines.filter((l) => l.reqId === 'trace-42');
  t.ok(mine.some((l) => l.msg === 'request completed'), 'the server\'s line');
  const items = mine.filter((l) => l.msg === 'item seen');
  t.same(items.map((l) => l.stage), ['first', 'second'], 'a line from each stage\'s worker, under the request\'s id');
  t.ok(items.every((l) => typeof l.threadId === 'number' && l.batch === 1), 'with the worker\'s thread and the stage\'s own fields');
});

t.test('items of one batch: each line its own reqId; the batch line names them all', async (t) => {
  const { lines, stream } = capture();
  const resolved = await loadTestPipeline({ name: 'test', routes: ['/v1/audio/features'], entry: 'only', stages: { only: { plugin: fixtureStage('log'), batch: { max_size: 4 } } } });
  const pipeline = createPipeline(resolved, { modelPath: '/models/test', cacheDir: '/tmp/cache', logger: pino({ level: 'debug' }, stream) });
  t.teardown(() => pipeline.close());
  // Submitted while the worker loads: they wait in the queue and go to it as one batch.
  const ids = ['a-1', 'b-2', 'c-3'];
  await Promise.all(ids.map((id) => pipeline.submit({ bytes: new ArrayBuffer(1) }, { id })));
  // Log lines come over the worker's status channel, results over each task's port: wait for the lines.
  await waitFor(() => lines.filter((l) => l.msg === 'item seen').length === 3);
  const seen = lines.filter((l) => l.msg === 'item seen');
  t.same(seen.map((l) => l.reqId).sort(), ids, 'one line per item, each under its own id');
  t.ok(seen.every((l) => l.stage === 'only'));
  const batches = lines.filter((l) => l.msg === 'batch seen');
  t.same(batches.flatMap((l) => l.reqIds as string[]).sort(), ids, 'batch lines name every item');
  t.same(seen.map((l) => l.batch), [3, 3, 3], 'the three shared a batch');
});
