// Issue 11, item 7: what fastify refuses by itself (a URL that does not decode,
// malformed JSON, an unknown content type, a body over the limit) answers in
// the OpenAI error shape; a declared body over the limit is refused before it
// is read, also when the client asks first with Expect: 100-continue; numeric
// form fields take decimal numbers only; an empty API key is refused at start.
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { buildServer } from '../src/server/app.js';
import { rawRequest } from './fixtures/server/raw-socket.js';
import { FAKE_WAV, multipartBody, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';

const TRANSCRIBE = '/v1/audio/transcriptions';
const MIB = 2 ** 20;

async function listen(t: Test) {
  const pipeline = new ScriptedPipeline();
  const app = await buildServer({ pipeline, servedModelNames: ['m'], maxUploadBytes: MIB });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { pipeline, port: (app.server.address() as net.AddressInfo).port };
}

/** Status line and parsed JSON body of a raw exchange (the connection is closed after `afterMs`). */
async function exchange(port: number, bytes: string, afterMs = 300): Promise<{ status: number; body: unknown; head: string }> {
  const { socket, reply } = rawRequest(port, bytes);
  const timer = setTimeout(() => socket.end(), afterMs);
  const text = await reply;
  clearTimeout(timer);
  const [head, ...rest] = text.split('\r\n\r\n');
  let body: unknown = rest.join('\r\n\r\n');
  try {
    body = JSON.parse(body as string);
  } catch {
    // not JSON: compared as text
  }
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1]), body, head };
}

const shape = (code: string) => ({ error: { message: String, type: 'invalid_request_error', param: null, code } });

t.test('framework refusals answer in the OpenAI error shape', async (t) => {
  const { port, pipeline } = await listen(t);
  const post = (headers: string, body = '') => `POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const cases: [string, string, number, string][] = [
    ['GET /v1/models/%ff', 'GET /v1/models/%ff HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_url'],
    ['GET /%E0%A4%A', 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_url'],
    ['malformed JSON', post('Content-Type: application/json\r\n', '{bad'), 400, 'ctp_invalid_json_body'],
    ['empty JSON', post('Content-Type: application/json\r\n'), 400, 'ctp_empty_json_body'],
    ['unknown content type', post('Content-Type: application/x-foo\r\n', 'abc'), 415, 'unsupported_media_type'],
    ['garbage content type', post('Content-Type: ;;;\r\n', 'abc'), 415, 'unsupported_media_type'],
    ['text/plain', post('Content-Type: text/plain\r\n', 'abc'), 415, 'unsupported_media_type'],
    ['unknown route', 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n', 404, 'not_found'],
    ['unknown method', `DELETE ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\n\r\n`, 404, 'not_found'],
  ];
  for (const [name, bytes, status, code] of cases) {
    const answer = await exchange(port, bytes);
    t.match(answer, { status, body: shape(code) }, `${name}: ${status} ${code}`);
    t.notMatch(answer.head + JSON.stringify(answer.body), /FST_/, `${name}: no fastify code on the wire`);
  }
  t.equal(pipeline.submissions.length, 0);
});

t.test('a declared body over the limit is refused with 413 before it is read', async (t) => {
  const { port, pipeline } = await listen(t);
  const head = (extra: string, length: number) => `POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=X\r\n${extra}Content-Length: ${length}\r\n\r\n`;
  for (const extra of ['Expect: 100-continue\r\n', '']) {
    const answer = await exchange(port, head(extra, 900 * MIB), 5000);
    t.match(answer, { status: 413, body: shape('form_too_large') }, `${extra.trim() || 'no Expect'}: 413 without sending the body`);
    t.notMatch(answer.head, /100 Continue/, 'no 100 Continue');
    t.match(answer.head, /connection: close/i, 'and the connection is closed (the body was not read)');
  }

  // Under the limit, Expect: 100-continue gets its 100 and the request is served.
  const { body, contentType } = await multipartBody({}, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  const socket = net.connect(port, '127.0.0.1');
  socket.write(`POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`);
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk.toString('latin1');
    if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
  });
  await new Promise((resolve) => socket.on('close', resolve));
  t.match(received, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, 'a body under the limit: 100 Continue, then 200');
  t.equal(pipeline.submissions.length, 1);
});

t.test('numeric and boolean fields take decimal numbers only', async (t) => {
  const { port, pipeline } = await listen(t);
  const send = async (fields: Record<string, string>) => {
    const { body, contentType } = await multipartBody(fields, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
    const answer = await exchange(port, `POST ${TRANSCRIBE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n${body.toString('latin1')}`, 5000);
    return answer;
  };
  const refused: [string, string][] = [
    ['temperature', '0x1'], ['temperature', '0b1'], ['temperature', '0o1'], ['temperature', ' '], ['temperature', '1e-400'], ['temperature', '1e0'],
    ['temperature', 'Infinity'], ['temperature', 'NaN'], ['temperature', '1.5'], ['temperature', '-0.1'], ['temperature', '.'], ['temperature', '0,5'],
    ['max_new_tokens', '0x10'], ['max_new_tokens', '1e3'], ['max_new_tokens', '10.0'], ['max_new_tokens', ' \t'],
    ['seed', '0b1'], ['seed', '-1'], ['seed', '4294967296'],
    ['stream', 'yes please'], ['stream', '2'],
    ['timestamp_granularities[]', 'segment '], ['response_format', ' json'],
    // Surrounding spaces are not part of a number (attacker re-test F6: ' 1' was accepted).
    ['temperature', ' 1'], ['temperature', '0.5 '], ['seed', ' 7'], ['max_new_tokens', '10\n'], ['stream', ' true'],
  ];
  for (const [name, value] of refused) {
    t.match(await send({ [name]: value }), { status: 400, body: { error: { code: 'invalid_value', param: name.replace('[]', '') } } }, `${name}=${JSON.stringify(value)}: 400`);
  }
  t.equal(pipeline.submissions.length, 0, 'none reached the pipeline');
  const accepted: [string, string, number][] = [['temperature', '0.5', 0.5], ['temperature', '.25', 0.25], ['temperature', '1', 1], ['temperature', '0.', 0], ['temperature', '', 0]];
  for (const [name, value, expected] of accepted) {
    t.match(await send({ [name]: value }), { status: 200 }, `${name}=${JSON.stringify(value)}: accepted`);
    t.equal((pipeline.submissions.at(-1)!.input.params as { temperature: number }).temperature, expected);
  }
});

t.test('an empty API key is refused at start', async (t) => {
  const cli = path.join(repoRoot(), 'bin', 'sgl-omni.js');
  const run = (args: string[], env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, 'serve', '--model-path', '/nonexistent-model', '--port', '0', ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, _stdout, stderr) =>
        resolve({ code: err ? (err as { code?: number }).code ?? null : 0, stderr }));
    });
  t.same(await run(['--api-key', ''], {}), { code: 1, stderr: 'sgl-omni: --api-key is empty: give a key, or leave --api-key unset to serve without authentication\n' });
  t.same(await run(['--api-key', '  '], {}), { code: 1, stderr: 'sgl-omni: --api-key is empty: give a key, or leave --api-key unset to serve without authentication\n' });
  t.same(await run([], { SGL_OMNI_API_KEY: '' }), { code: 1, stderr: 'sgl-omni: SGL_OMNI_API_KEY is empty: give a key, or leave SGL_OMNI_API_KEY unset to serve without authentication\n' });
  await t.rejects(buildServer({ pipeline: new ScriptedPipeline(), servedModelNames: ['m'], apiKey: '' }), /non-empty apiKey/, 'buildServer refuses it too');
});
