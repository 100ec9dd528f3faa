// Hostile multipart/form-data layouts (issue 11, item 2): every body the server
// accepts ends in an answer, in the OpenAI error shape when it is refused. At
// 5b77086 a lone part without Content-Disposition (or with `attachment`) of
// 16-40 KB or 1 MB was never answered: busboy skipped it, backpressure on the
// skipped part kept dicer's last write pending, and the form never ended.
import net from 'node:net';
import t, { type Test } from 'tap';
import { buildServer } from '../src/server/app.js';
import { CANNED_RESULT, FAKE_WAV, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';

const BOUNDARY = 'X-boundary-11';
const CONTENT_TYPE = `multipart/form-data; boundary=${BOUNDARY}`;
/** Far above the server's own 2.5-5 s parse watchdog: a request not answered by then hangs. */
const ANSWER_WITHIN_MS = 15_000;

async function listen(t: Test) {
  const pipeline = new ScriptedPipeline();
  const app = await buildServer({ pipeline, servedModelNames: ['m'], maxUploadBytes: 2 * 2 ** 20 });
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { pipeline, url: `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}/v1/audio/transcriptions` };
}

const part = (headers: string, body: Uint8Array | string = '') => Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${headers}\r\n`), Buffer.from(body), Buffer.from('\r\n')]);
const fileHeaders = (name = 'file') => `Content-Disposition: form-data; name="${name}"; filename="a.wav"\r\nContent-Type: audio/wav\r\n`;
const CLOSE = Buffer.from(`--${BOUNDARY}--\r\n`);
const form = (...parts: Buffer[]) => Buffer.concat([...parts, CLOSE]);

async function post(url: string, body: Buffer, contentType = CONTENT_TYPE): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(body), signal: AbortSignal.timeout(ANSWER_WITHIN_MS) });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

const openAIError = (code: string | RegExp) => ({ error: { message: String, type: 'invalid_request_error', code } });

t.test('a lone part without a form-data name is refused with 400 at every size', async (t) => {
  const { url, pipeline } = await listen(t);
  const sizes = [0, 1, 16 * 1024, 20_000, 40_000, 2 ** 20];
  for (const headers of ['Content-Type: audio/wav\r\n', 'Content-Disposition: attachment\r\nContent-Type: audio/wav\r\n', 'Content-Disposition: attachment; filename="a.wav"\r\n']) {
    const answers = await Promise.all(sizes.map((size) => post(url, form(part(headers, Buffer.alloc(size)))).catch((err: Error) => ({ status: err.name, body: null }))));
    answers.forEach((answer, i) => t.match(answer, { status: 400, body: openAIError('missing_file') }, `${JSON.stringify(headers)} with ${sizes[i]} bytes: 400 missing_file`));
  }
  t.equal(pipeline.submissions.length, 0);
});

t.test('other hostile layouts each get a 4xx in the OpenAI shape', async (t) => {
  const { url, pipeline } = await listen(t);
  const big = Buffer.alloc(30_000, 1);
  const nested = `--inner\r\n${fileHeaders()}\r\nRIFF\r\n--inner--`;
  const cases: [string, Buffer, number, string | RegExp][] = [
    ['part with form-data but no name', form(part('Content-Disposition: form-data\r\n', big)), 400, 'invalid_multipart'],
    ['part with form-data but no name, before the file', form(part('Content-Disposition: form-data; filename="b.wav"\r\n', big), part(fileHeaders(), FAKE_WAV)), 400, 'invalid_multipart'],
    ['two file fields', form(part(fileHeaders(), big), part(fileHeaders(), big)), 400, 'too_many_files'],
    ['file under another name', form(part(fileHeaders('audio'), big)), 400, 'invalid_multipart'],
    ['skipped part, then a text field', form(part('Content-Type: audio/wav\r\n', big), part('Content-Disposition: form-data; name="model"\r\n', 'm')), 400, 'missing_file'],
    ['nested multipart/mixed', form(part('Content-Disposition: form-data; name="file"\r\nContent-Type: multipart/mixed; boundary=inner\r\n', nested)), 400, 'missing_file'],
    ['no closing boundary', Buffer.concat([part(fileHeaders(), big)]), 400, 'invalid_multipart'],
    ['no boundary at all', Buffer.from('just text, no parts'), 400, /^(invalid_multipart|missing_file)$/],
    ['header-only part', Buffer.concat([Buffer.from(`--${BOUNDARY}\r\n${fileHeaders()}`), CLOSE]), 400, /^(invalid_multipart|missing_file)$/],
    ['1000 tiny parts', form(...Array.from({ length: 1000 }, (_, i) => part(`Content-Disposition: form-data; name="f${i}"\r\n`, 'x'))), 413, 'form_too_large'],
    ['1000 skipped parts', form(...Array.from({ length: 1000 }, () => part('Content-Type: text/plain\r\n', 'x'))), 413, 'form_too_large'],
  ];
  for (const [name, body, status, code] of cases) {
    t.match(await post(url, body).catch((err: Error) => ({ status: err.name })), { status, body: openAIError(code) }, `${name}: ${status}`);
  }
  t.match(await post(url, form(part(fileHeaders(), FAKE_WAV)), 'multipart/form-data'), { status: 400, body: openAIError(/./) }, 'no boundary parameter: 400');
  t.equal(pipeline.submissions.length, 0, 'nothing reached the pipeline');
});

t.test('a valid form survives a preamble, an epilogue, skipped parts around it and oversized part headers', async (t) => {
  const { url, pipeline } = await listen(t);
  const body = Buffer.concat([
    Buffer.from('preamble garbage\r\n'.repeat(100)),
    part('Content-Type: audio/wav\r\n', Buffer.alloc(20_000)),
    part(fileHeaders(), FAKE_WAV),
    part('Content-Disposition: attachment\r\n', Buffer.alloc(40_000)),
    CLOSE,
    Buffer.from('epilogue garbage '.repeat(1000)),
  ]);
  t.match(await post(url, body), { status: 200, body: { text: CANNED_RESULT.text } });
  t.same(Buffer.from(pipeline.submissions[0].input.audio as ArrayBuffer), Buffer.from(FAKE_WAV), 'the file part, byte for byte');
  // busboy keeps at most 80 KiB and 2000 lines of part headers and ignores the rest.
  t.match(await post(url, form(part(`${fileHeaders()}X-Junk: ${'a'.repeat(100_000)}\r\n`, FAKE_WAV))), { status: 200 }, 'a 100 KB header line');
  t.match(await post(url, form(part(`${fileHeaders()}${'X-J: 1\r\n'.repeat(3000)}`, FAKE_WAV))), { status: 200 }, '3000 header lines');
});
