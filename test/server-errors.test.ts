// The one error catalogue: docs/ERRORS.md is what it generates; every code keeps
// its status and OpenAI type on the wire; stage kinds map to statuses in the
// server, and a thrown value without a known kind is internal; and when a plugin's
// process() throws, the log line of the 500 carries the plugin's own stack,
// carried from its worker, not the framework's.
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import t from 'tap';
import { ERROR_KINDS, PipelineError, StageError } from '../src/runtime/contracts.js';
import { badPayload, toErrorInfo } from '../src/runtime/errors.js';
import { buildServer } from '../src/server/app.js';
import { errorDocsPath, renderErrorReference } from '../src/server/error-docs.js';
import { apiError, ERRORS, errorBody, KIND_STATUS, toApiError } from '../src/server/errors.js';
import { fixtureStage, startTestPipeline } from './fixtures/stages/pipeline-helper.js';

t.test('docs/ERRORS.md is generated from the catalogue', async (t) => {
  t.equal(fs.readFileSync(errorDocsPath(), 'utf8'), renderErrorReference(), 'regenerate: node dist/src/server/error-docs.js --write');
});

t.test('each catalogue code answers with its status, type and filled template', async (t) => {
  for (const [code, spec] of Object.entries(ERRORS)) {
    const err = apiError(code as keyof typeof ERRORS, ['A', 'B'], { param: 'p' });
    t.equal(err.status, spec.status, code);
    t.same(errorBody(err).error, { message: spec.message.replace('%s', 'A').replace('%s', 'B'), type: spec.type, param: 'p', code }, code);
  }
  t.equal(apiError('model_not_found', ['gpt-4o', 'a, b']).message, "The model 'gpt-4o' does not exist. Served models: a, b.");
});

t.test('kinds are mapped by the server; a stage cannot choose a status', async (t) => {
  for (const [kind, status] of Object.entries(KIND_STATUS)) {
    const err = toApiError(new PipelineError('ERR_SOME_STAGE', 'why', kind as keyof typeof KIND_STATUS, 'file'), 'req-1');
    t.equal(err.status, status, kind);
    t.equal(err.code, 'some_stage', `${kind}: the stage's own code on the wire`);
    t.equal(err.message, status === 500 ? 'The server had an error while processing your request (request id req-1).' : 'why', `${kind}: a 500 hides its cause`);
  }
  t.same(KIND_STATUS, { invalid_input: 400, unsupported_media: 415, too_long: 400, cancelled: 499, overloaded: 503, rate_limited: 429, unavailable: 503, internal: 500 });
  t.same(Object.keys(KIND_STATUS).sort(), Object.keys(ERROR_KINDS).sort(), 'every kind has its status');
  t.equal(errorBody(toApiError(new PipelineError('ERR_RATE', 'slow down', 'rate_limited', undefined, 1), 'r')).error.type, 'rate_limit_error');
  // What crosses the worker boundary: a StageError-like value keeps its kind; a status number (or an
  // unknown kind) is not a kind, so the item is internal (stage_failed, 500), not what the stage chose.
  t.match(toErrorInfo(new StageError('ERR_X', 'bad field', 'invalid_input', 'f'), 's'), { code: 'ERR_X', kind: 'invalid_input', param: 'f' });
  t.match(toErrorInfo({ code: 'ERR_X', message: 'bad field', status: 400 }, 's'), { code: 'ERR_STAGE_FAILED', kind: 'internal', message: 'stage s failed: bad field' });
  t.match(toErrorInfo({ code: 'ERR_X', message: 'bad field', kind: 'teapot' }, 's'), { code: 'ERR_STAGE_FAILED', kind: 'internal' });
  const miswired = badPayload('a/b', 'samples', 'a Float32Array');
  t.match(miswired, { code: 'ERR_BAD_PAYLOAD', kind: 'internal', message: "a/b: payload field 'samples' must be a Float32Array" }, 'one code for a miswired payload, in every stage');
});

t.test('a plugin that throws: 500 to the client, the plugin\'s own stack in the log', async (t) => {
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('faulty') } });
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  const app = await buildServer({ pipeline, servedModelNames: ['m'], logger: pino({ level: 'info' }, stream) });
  t.teardown(() => app.close());
  // A route of the test's own, behind the server's error handling and log, submitting what makes the plugin throw.
  app.post('/throw', async () => pipeline.submit({ fault: 'throw' }));
  const res = await app.inject({ method: 'POST', url: '/throw' });
  t.equal(res.statusCode, 500);
  t.same(res.json().error, { message: `The server had an error while processing your request (request id ${res.headers['x-request-id']}).`, type: 'server_error', param: null, code: 'stage_failed' });
  const logged = lines.find((l) => l.msg === 'request failed') as { reqId: string; code: string; err: { stack: string } } | undefined;
  t.match(logged, { reqId: res.headers['x-request-id'], code: 'stage_failed' });
  t.match(logged?.err.stack, /^Error: stage a failed: process blew up\n {4}\(thrown in the stage's worker:\)\nError: process blew up\n {4}at Object\.process \(.*faulty-stage\.[jt]s:\d+:\d+\)/, 'the first frame is the plugin\'s own throw');
});
