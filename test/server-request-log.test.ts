// The server's request log, as pino writes it: one line per request when its
// answer is done (method, url, status, time, request id, audio seconds, the
// error's code and message), probes
// and arrivals only at debug, a client that left logged once as 499.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { buildServer } from '../src/server/app.js';
import { answer, FAKE_WAV, multipartBody, ScriptedPipeline, waitForAbort } from './fixtures/server/scripted-pipeline.js';

type Line = Record<string, unknown> & { msg: string; level: number; reqId?: string };
const DEBUG = 20;
const INFO = 30;

/** A server logging into an array at `level`; the array fills as pino writes. */
async function loggedServer(level: string, pipeline = new ScriptedPipeline()) {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  const app = await buildServer({ pipeline, servedModelNames: ['m'], logger: pino({ level }, stream) });
  t.teardown(() => app.close());
  return { app, lines, pipeline };
}

async function transcriptionRequest() {
  const { body, contentType } = await multipartBody({ model: 'm' }, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
  return { method: 'POST' as const, url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body };
}

t.test('at info: one line per transcription with its status, time, id and audio; nothing for probes', async (t) => {
  const { app, lines } = await loggedServer('info');
  for (let i = 0; i < 3; i++) t.equal((await app.inject('/health')).statusCode, 200);
  t.equal((await app.inject('/metrics')).statusCode, 200);
  const res = await app.inject(await transcriptionRequest());
  t.equal(res.statusCode, 200);
  const missing = await app.inject('/v1/models/nope');

  t.same(lines.map((l) => l.msg), ['request completed', 'request completed'], 'one line per request, none for the probes');
  const [ok, notFound] = lines;
  t.equal(ok.level, INFO);
  t.match(ok, { reqId: res.headers['x-request-id'], req: { method: 'POST', url: '/v1/audio/transcriptions' }, res: { statusCode: 200 }, audioSeconds: 3.2 });
  t.type(ok.responseTime, 'number');
  t.match(notFound, {
    reqId: missing.headers['x-request-id'],
    req: { method: 'GET', url: '/v1/models/nope' },
    res: { statusCode: 404 },
    error: { code: 'model_not_found', message: JSON.parse(missing.body).error.message },
  }, 'a failure is the same one line, with its code and message');
  t.notOk('audioSeconds' in notFound, 'no audio seconds where no audio was transcribed');
});

t.test('at debug: arrivals and probes too', async (t) => {
  const { app, lines } = await loggedServer('debug');
  await app.inject('/health');
  t.same(lines.map((l) => [l.level, l.msg]), [[DEBUG, 'incoming request'], [DEBUG, 'request completed']]);
  t.match(lines[1], { req: { url: '/health' }, res: { statusCode: 200 } });
});

t.test('a client that leaves mid-inference is one 499 line', async (t) => {
  let submitted!: () => void;
  const inPipeline = new Promise<void>((resolve) => (submitted = resolve));
  const pipeline = new ScriptedPipeline(async (submission) => (submitted(), waitForAbort()(submission)));
  const { app, lines } = await loggedServer('info', pipeline);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const { body, contentType } = await multipartBody({ model: 'm' }, [{ filename: 'a.wav', bytes: FAKE_WAV }]);
  const controller = new AbortController();
  const request = fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': contentType }, signal: controller.signal }).catch(() => 'aborted');
  await inPipeline;
  const aborted = pipeline.nextAbort();
  controller.abort();
  t.equal(await request, 'aborted');
  await aborted;
  await app.close(); // the close waits for the handler, so its line is written by now
  const requestLines = lines.filter((l) => l.req !== undefined);
  t.equal(requestLines.length, 1, JSON.stringify(lines.map((l) => l.msg)));
  t.match(requestLines[0], { msg: 'request ended: the client left', res: { statusCode: 499 }, req: { url: '/v1/audio/transcriptions' } });
});

t.test('the scripted answer is what the log reports as audio', async (t) => {
  const { app, lines } = await loggedServer('info', new ScriptedPipeline(answer({ text: 'x', language: 'English', duration: 7.5, segments: [] })));
  t.equal((await app.inject(await transcriptionRequest())).statusCode, 200);
  t.equal(lines[0].audioSeconds, 7.5);
});
