// Bad uploads against the real server and pipeline (tiny checkpoint): every one
// gets its exact 4xx in the OpenAI error shape, or a 200 transcript when the audio
// is odd but legitimate, while GET /health keeps answering 200 throughout, and a
// normal request still succeeds afterwards.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { buildConstantFlac } from './fixtures/audio/flac-writer.js';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { startTinyServer, TINY_MODEL_NAME, watchHealth } from './fixtures/server/tiny-server.js';

// A low duration cap keeps the compressed bomb cheap to refuse; everything else is the shipped pipeline.
const MAX_DURATION_S = 600;
const server = await startTinyServer({ overrides: [['stages.decode.options.max_duration_s', String(MAX_DURATION_S)]] });
t.teardown(() => server.close());
const url = `${server.base}/v1/audio/transcriptions`;

const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name)));
const jfk = fixture('jfk.wav');
const JFK_DATA = 78; // jfk.wav: fmt, a LIST chunk, then the samples

/** Deterministic noise in [-1, 1) (a linear congruential generator: no Math.random in tests). */
function noise(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

function pcm16(samples: Float32Array): Uint8Array {
  const out = new Int16Array(samples.length);
  samples.forEach((s, i) => (out[i] = Math.round(s * 32767)));
  return new Uint8Array(out.buffer);
}

const wav16 = (samples: Float32Array, sampleRate = 16000, channels = 1) =>
  buildWav({ formatTag: 1, bits: 16, channels, sampleRate, data: pcm16(samples) });

/** 16 kHz mono 16-bit WAV header whose chunk sizes claim far more than the 1 s body that follows. */
function wavClaiming(dataBytes: number): Uint8Array {
  const wav = wav16(noise(16000, 7).map((s) => s * 0.1));
  const dv = new DataView(wav.buffer);
  dv.setUint32(4, 0xffffffff, true);
  dv.setUint32(40, dataBytes, true);
  return wav;
}

function floatWav(values: number[]): Uint8Array {
  const data = new Float32Array(16000);
  for (let i = 0; i < data.length; i++) data[i] = values[i % values.length];
  return buildWav({ formatTag: 3, bits: 32, channels: 1, sampleRate: 16000, data: new Uint8Array(data.buffer) });
}

const TEN_HOURS_S = 36000;

interface Expected {
  status: number;
  /** The error's code and param, for refusals. */
  code?: string;
  param?: string | null;
  /** Seconds of audio the 200 transcript reports (verbose_json duration). */
  duration?: number;
}

interface Case {
  name: string;
  send: () => Promise<Response>;
  expect: Expected;
}

const FIELDS = { model: TINY_MODEL_NAME, response_format: 'verbose_json', max_new_tokens: '8' };

function uploadForm(files: [string, Uint8Array][], fields: Record<string, string> = FIELDS): FormData {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('file', new Blob([Uint8Array.from(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  return form;
}

const postForm = (form: FormData) => fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(30_000) });
const postRaw = (body: string, contentType: string) =>
  fetch(url, { method: 'POST', body, headers: { 'content-type': contentType }, signal: AbortSignal.timeout(30_000) });

const upload = (name: string, bytes: Uint8Array, expect: Expected, filename = 'audio.bin'): Case => ({
  name,
  send: () => postForm(uploadForm([[filename, bytes]])),
  expect,
});

const refused = (status: number, code: string, param: string | null = 'file'): Expected => ({ status, code, param });
const transcribed = (duration: number): Expected => ({ status: 200, duration });
const cut = (name: string, at: number) => fixture(name).subarray(0, at);

const audioCases: Case[] = [
  upload('empty file', new Uint8Array(0), refused(400, 'audio_empty')),
  upload('WAV header with 0 samples', wav16(new Float32Array(0)), refused(400, 'audio_empty')),
  upload('text file named .wav', new TextEncoder().encode('hello, this is not audio\n'.repeat(40)), refused(415, 'audio_unsupported'), 'speech.wav'),
  // truncated WAV: inside the magic, inside fmt, right after the data header, mid-sample, mid-way
  upload('WAV cut at 3 bytes', cut('jfk.wav', 3), refused(415, 'audio_unsupported')),
  upload('WAV cut inside fmt', cut('jfk.wav', 30), refused(400, 'audio_decode')),
  upload('WAV cut inside its data chunk header', cut('jfk.wav', JFK_DATA - 4), refused(400, 'audio_decode')),
  upload('WAV cut after one byte of samples', cut('jfk.wav', JFK_DATA + 1), refused(400, 'audio_empty')),
  upload('WAV cut after 0.5 s', cut('jfk.wav', JFK_DATA + 16000), transcribed(0.5)),
  // truncated MP3 (ID3 tag, then 44.1 kHz frames of 1152 samples)
  upload('MP3 cut inside its ID3 tag', cut('jfk-44k-stereo.mp3', 20), refused(415, 'audio_unsupported')),
  upload('MP3 cut after its first frame header', cut('jfk-44k-stereo.mp3', 60), refused(400, 'audio_decode')),
  upload('MP3 cut mid-way', cut('jfk-44k-stereo.mp3', 60000), { status: 200 }),
  // truncated FLAC: magic only, inside STREAMINFO, headers only, mid-way
  upload('FLAC cut after its magic', cut('clip.flac', 4), refused(400, 'audio_decode')),
  upload('FLAC cut inside STREAMINFO', cut('clip.flac', 20), refused(400, 'audio_decode')),
  upload('FLAC headers only', cut('clip.flac', 100), refused(400, 'audio_decode')),
  upload('FLAC cut mid-way', cut('clip.flac', 30000), { status: 200 }),
  // truncated Ogg Vorbis: inside the page header, inside the identification packet, first page only, mid-way
  upload('Ogg cut inside its first page header', cut('clip-44k-stereo.ogg', 20), refused(400, 'audio_decode')),
  upload('Ogg cut inside the Vorbis identification packet', cut('clip-44k-stereo.ogg', 38), refused(400, 'audio_decode')),
  upload('Ogg Vorbis first page only', cut('clip-44k-stereo.ogg', 200), refused(400, 'audio_decode')),
  upload('Ogg Vorbis cut mid-way', cut('clip-44k-stereo.ogg', 13000), { status: 200 }),
  upload('Ogg Opus cut inside OpusHead', cut('clip.opus', 38), refused(400, 'audio_decode')),
  // headers that claim hours: what is present is what is transcribed, never more
  upload('WAV claiming 10 hours with a 1 s body', wavClaiming(TEN_HOURS_S * 16000 * 2), transcribed(1)),
  upload('WAV claiming 4 GB with a 1 s body', wavClaiming(0xfffffffe), transcribed(1)),
  upload('WAV at 1 Hz', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 1, data: new Uint8Array(64) }), refused(400, 'audio_decode')),
  upload('WAV at 10 MHz', buildWav({ formatTag: 1, bits: 16, channels: 1, sampleRate: 10_000_000, data: new Uint8Array(64) }), refused(400, 'audio_decode')),
  upload('32 channels', wav16(noise(32 * 8000, 3).map((s) => s * 0.1), 16000, 32), transcribed(0.5)),
  upload('NaN and ±Infinity float samples', floatWav([NaN, Infinity, -Infinity, 0.25]), transcribed(1)),
  upload('only NaN samples', floatWav([NaN]), transcribed(1)),
  upload('silence', wav16(new Float32Array(32000)), transcribed(2)),
  upload('pure noise', wav16(noise(32000, 11)), transcribed(2)),
  upload('a 0.05 s clip', wav16(noise(800, 5).map((s) => s * 0.1)), transcribed(0.05)),
  upload('a single sample', wav16(Float32Array.of(0.5)), refused(400, 'audio_too_short')),
  // hours of silent FLAC in ~100 kB: refused after decoding at most the cap, from no header at all
  upload('FLAC of 10 h silence, length not declared', buildConstantFlac({ seconds: TEN_HOURS_S, declaredSamples: 0 }), refused(400, 'audio_too_long')),
  upload('FLAC of 10 h silence declaring 1 s', buildConstantFlac({ seconds: TEN_HOURS_S, declaredSamples: 8000 }), refused(400, 'audio_too_long')),
  upload('FLAC declaring 10 h', buildConstantFlac({ seconds: 1, declaredSamples: TEN_HOURS_S * 8000 }), refused(400, 'audio_too_long')),
  upload('FLAC at 1 Hz', buildConstantFlac({ seconds: 1, declaredSamples: 0, sampleRate: 1 }), refused(400, 'audio_decode')),
];

const BOUNDARY = 'reliability-boundary';
const part = (headers: string, body: string) => `--${BOUNDARY}\r\n${headers}\r\n\r\n${body}\r\n`;
const modelPart = part('Content-Disposition: form-data; name="model"', TINY_MODEL_NAME);

const formCases: Case[] = [
  {
    name: 'two files',
    send: () => postForm(uploadForm([['a.wav', jfk], ['b.wav', jfk]])),
    expect: refused(400, 'too_many_files'),
  },
  { name: 'no file', send: () => postForm(uploadForm([])), expect: refused(400, 'missing_file') },
  {
    name: "'file' sent as a text field",
    send: () => postRaw(modelPart + part('Content-Disposition: form-data; name="file"', 'RIFF') + `--${BOUNDARY}--\r\n`, `multipart/form-data; boundary=${BOUNDARY}`),
    expect: refused(400, 'missing_file'),
  },
  {
    name: 'a 300 KiB text field',
    send: () => postForm(uploadForm([['jfk.wav', jfk]], { ...FIELDS, prompt: 'x'.repeat(300 * 1024) })),
    expect: refused(413, 'field_too_large', 'prompt'),
  },
  { name: 'application/json', send: () => postRaw('{"file":"jfk.wav"}', 'application/json'), expect: refused(415, 'unsupported_media_type', null) },
  { name: 'text/plain', send: () => postRaw('jfk.wav', 'text/plain'), expect: refused(415, 'unsupported_media_type', null) },
  { name: 'no Content-Type', send: () => fetch(url, { method: 'POST', body: jfk }), expect: refused(415, 'unsupported_media_type', null) },
  { name: 'multipart without a boundary', send: () => postRaw(modelPart, 'multipart/form-data'), expect: refused(400, 'invalid_multipart', null) },
  {
    name: 'multipart with a boundary the body never uses',
    send: () => postRaw(modelPart + `--${BOUNDARY}--\r\n`, 'multipart/form-data; boundary=another-boundary'),
    expect: refused(400, 'invalid_multipart', null),
  },
  {
    name: 'multipart cut inside the file part',
    send: () => postRaw(modelPart + part('Content-Disposition: form-data; name="file"; filename="a.wav"', 'RIFF....WAVE'), `multipart/form-data; boundary=${BOUNDARY}`),
    expect: refused(400, 'invalid_multipart', null),
  },
];

async function check(t: Test, c: Case): Promise<void> {
  const res = await c.send();
  const body = await res.text();
  t.equal(res.status, c.expect.status, `${c.name}: status (${body.slice(0, 300)})`);
  if (res.status !== 200) {
    const parsed = JSON.parse(body);
    t.same(Object.keys(parsed.error).sort(), ['code', 'message', 'param', 'type'], `${c.name}: OpenAI error shape`);
    t.match(parsed.error, { message: /\S/, type: 'invalid_request_error', code: c.expect.code, param: c.expect.param }, c.name);
    return;
  }
  const transcript = JSON.parse(body);
  t.type(transcript.text, 'string', `${c.name}: a transcript`);
  if (c.expect.duration !== undefined) t.ok(Math.abs(transcript.duration - c.expect.duration) < 1e-3, `${c.name}: duration ${transcript.duration} s`);
}

t.test('bad inputs get their exact error while /health keeps answering', async (t) => {
  const health = watchHealth(server.base);
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const rssWatch = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
  try {
    for (const c of [...audioCases, ...formCases]) await check(t, c);
  } finally {
    clearInterval(rssWatch);
  }
  const statuses = await health.stop();
  t.ok(statuses.length > 0, `${statuses.length} health checks`);
  t.same([...new Set(statuses)], [200], '/health answered 200 every time');
  // Fully decoding one 10 h bomb would take over 1 GiB of samples; the cap stops it near 600 s (19 MB).
  const growthMiB = (rssPeak - rssBefore) / 2 ** 20;
  t.ok(growthMiB < 400, `peak RSS growth ${growthMiB.toFixed(0)} MiB`);
});

/** Sends `body` on `agent`'s connection; resolves with the status once the answer has been read. */
function request(agent: http.Agent, method: string, pathname: string, body?: Uint8Array, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${server.base}${pathname}`, { method, agent, headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${pathname}: no answer in 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

t.test('a form refused part-way leaves its keep-alive connection usable', async (t) => {
  // The refusal comes at the second file's header, with 1 MiB of it still unread.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => agent.destroy());
  const file = new Uint8Array(2 ** 20);
  const body = new Response(uploadForm([['a.wav', file], ['b.wav', file]]));
  const bytes = new Uint8Array(await body.arrayBuffer());
  const headers = { 'content-type': body.headers.get('content-type')!, 'content-length': bytes.length };
  t.equal(await request(agent, 'POST', '/v1/audio/transcriptions', bytes, headers), 400);
  t.equal(await request(agent, 'GET', '/health'), 200, 'the next request on the same connection is answered');
});

t.test('a normal request still succeeds afterwards', async (t) => {
  const res = await postForm(uploadForm([['jfk.wav', jfk]]));
  t.equal(res.status, 200);
  t.match(await res.json(), { task: 'transcribe', duration: 11, text: String });
});
