// Everything besides transcription: health, models, unknown routes,
// translations, bearer auth and Prometheus metrics.
import t from 'tap';
import { buildServer } from '../src/server/app.js';
import { FAKE_WAV, multipartBody, ScriptedPipeline } from './fixtures/server/scripted-pipeline.js';

const MODEL = 'Qwen/Qwen3-ASR-0.6B';
const ALIAS = 'asr';

t.test('health follows pipeline.health()', async (t) => {
  const pipeline = new ScriptedPipeline();
  const app = await buildServer({ pipeline, servedModelNames: [MODEL] });
  t.teardown(() => app.close());
  const ok = await app.inject('/health');
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { status: 'ok' });
  pipeline.healthState = { ready: false, reason: 'stage encoder failed to load: cannot open /srv/models/encoder.onnx' };
  const down = await app.inject('/health');
  t.equal(down.statusCode, 503);
  t.same(down.json(), { status: 'unavailable', reason: 'stage encoder failed to load: cannot open <path>' });
});

t.test('models list and lookup, with aliases and slashes in ids', async (t) => {
  const app = await buildServer({ pipeline: new ScriptedPipeline(), servedModelNames: [MODEL, ALIAS] });
  t.teardown(() => app.close());
  const list = (await app.inject('/v1/models')).json();
  t.equal(list.object, 'list');
  t.same(list.data.map((m: { id: string }) => m.id), [MODEL, ALIAS]);
  const created = list.data[0].created;
  t.ok(Number.isInteger(created) && Math.abs(created - Date.now() / 1000) < 60, 'created is unix seconds');
  t.same(list.data[1], { id: ALIAS, object: 'model', created, owned_by: 'sgl-omni' });
  t.same((await app.inject(`/v1/models/${MODEL}`)).json(), { id: MODEL, object: 'model', created, owned_by: 'sgl-omni' });
  t.equal((await app.inject('/v1/models/Qwen%2FQwen3-ASR-0.6B')).json().id, MODEL, 'encoded slash');
  const missing = await app.inject('/v1/models/gpt-4o');
  t.equal(missing.statusCode, 404);
  t.match(missing.json().error, { code: 'model_not_found', param: 'model' });
});

t.test('unknown routes and translations', async (t) => {
  const app = await buildServer({ pipeline: new ScriptedPipeline(), servedModelNames: [MODEL] });
  t.teardown(() => app.close());
  const unknown = await app.inject({ method: 'GET', url: '/v1/chat/completions?x=1' });
  t.equal(unknown.statusCode, 404);
  t.same(unknown.json(), { error: { message: 'No route for GET /v1/chat/completions', type: 'invalid_request_error', param: null, code: 'not_found' } });
  const { body, contentType } = await multipartBody({ model: MODEL }, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  const translation = await app.inject({ method: 'POST', url: '/v1/audio/translations', headers: { 'content-type': contentType }, payload: body });
  t.equal(translation.statusCode, 400);
  t.same(translation.json().error, {
    message: `The model '${MODEL}' cannot translate; use /v1/audio/transcriptions to transcribe in the spoken language.`,
    type: 'invalid_request_error',
    param: null,
    code: 'unsupported_feature',
  });
});

t.test('bearer auth on every route but /health', async (t) => {
  const apiKey = 'sk-test-123';
  const app = await buildServer({ pipeline: new ScriptedPipeline(), servedModelNames: [MODEL], apiKey });
  t.teardown(() => app.close());
  t.equal((await app.inject('/health')).statusCode, 200, 'health needs no key');

  const missing = await app.inject('/v1/models');
  t.equal(missing.statusCode, 401);
  t.equal(missing.headers['www-authenticate'], 'Bearer');
  t.same(missing.json().error, { message: 'Missing API key: send it as "Authorization: Bearer <key>".', type: 'invalid_request_error', param: null, code: 'invalid_api_key' });

  for (const header of ['Bearer sk-test-12', 'Bearer sk-test-1234', `Basic ${apiKey}`, apiKey, 'Bearer ']) {
    const res = await app.inject({ url: '/v1/models', headers: { authorization: header } });
    t.equal(res.statusCode, 401, header);
  }
  t.equal((await app.inject({ url: '/v1/models', headers: { authorization: `Bearer ${apiKey}` } })).statusCode, 200);
  t.equal((await app.inject({ url: '/v1/models', headers: { authorization: `bearer ${apiKey}` } })).statusCode, 200, 'scheme is case-insensitive');
  t.equal((await app.inject('/metrics')).statusCode, 401, 'metrics need the key too');
  t.equal((await app.inject({ method: 'POST', url: '/v1/audio/transcriptions' })).statusCode, 401, 'checked before the body is read');
  t.equal((await app.inject('/health?probe=1')).statusCode, 200, 'query string does not defeat the exemption');
});

t.test('Prometheus metrics from this server only', async (t) => {
  const pipeline = new ScriptedPipeline();
  const app = await buildServer({ pipeline, servedModelNames: [MODEL] });
  const other = await buildServer({ pipeline: new ScriptedPipeline(), servedModelNames: [MODEL] });
  t.teardown(() => Promise.all([app.close(), other.close()]));

  const { body, contentType } = await multipartBody({}, [{ bytes: FAKE_WAV, filename: 'a.wav' }]);
  for (let i = 0; i < 2; i++) await app.inject({ method: 'POST', url: '/v1/audio/transcriptions', headers: { 'content-type': contentType }, payload: body });
  await app.inject('/nope');
  await app.inject('/nope/again');

  const scrape = await app.inject('/metrics');
  t.equal(scrape.statusCode, 200);
  t.match(scrape.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = scrape.body;
  t.match(text, /sgl_omni_http_requests_total\{method="POST",route="\/v1\/audio\/transcriptions",status="200"\} 2\n/);
  t.match(text, /sgl_omni_http_requests_total\{method="GET",route="unmatched",status="404"\} 2\n/);
  t.match(text, /sgl_omni_http_request_duration_seconds_count\{method="POST",route="\/v1\/audio\/transcriptions"\} 2\n/);
  t.match(text, /sgl_omni_audio_seconds_processed_total 6\.4\n/);
  t.match(text, /sgl_omni_transcription_rtf_count 2\n/);
  t.match(text, /sgl_omni_stage_queued\{stage="decode"\} 2\n/);
  t.match(text, /sgl_omni_stage_running\{stage="decoder"\} 3\n/);
  t.match(text, /sgl_omni_stage_failed\{stage="decode"\} 1\n/);

  pipeline.stageStats = [{ stage: 'decode', queued: 0, running: 0, completed: 12, failed: 1 }];
  const again = (await app.inject('/metrics')).body;
  t.match(again, /sgl_omni_stage_queued\{stage="decode"\} 0\n/, 'read at scrape time');
  t.notMatch(again, /stage="decoder"/, 'stages gone from stats are dropped');

  pipeline.workerMetrics = { decoder: { decode_steps: 40, decode_ms: 1500 }, encoder: { encode_ms: 250 } };
  const workers = (await app.inject('/metrics')).body;
  t.match(workers, /sgl_omni_worker_decode_steps\{stage="decoder"\} 40\n/);
  t.match(workers, /sgl_omni_worker_decode_seconds\{stage="decoder"\} 1\.5\n/, 'published milliseconds are shown in seconds');
  t.match(workers, /sgl_omni_worker_encode_seconds\{stage="encoder"\} 0\.25\n/);
  pipeline.workerMetrics = { decoder: { decode_steps: 41 } };
  const later = (await app.inject('/metrics')).body;
  t.match(later, /sgl_omni_worker_decode_steps\{stage="decoder"\} 41\n/);
  t.notMatch(later, /sgl_omni_worker_decode_seconds\{|sgl_omni_worker_encode_seconds\{/, 'counters no worker publishes any more are dropped');

  const otherText = (await other.inject('/metrics')).body;
  t.notMatch(otherText, /route="\/v1\/audio\/transcriptions"/, 'a second server has its own registry');
});
