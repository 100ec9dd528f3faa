// Long audio over HTTP on the tiny checkpoint, with pipelines/qwen3-asr.yaml's
// own splitting (max_segment_s 30, search_s 2): a 69.5 s upload with two short
// digital silences placed off the nominal 30 s boundaries is cut inside them,
// the segments carry those times into verbose_json and subtitles, each segment
// is the transcript of its own audio, and the duration cap answers 400 from the
// header alone.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ConfigError, loadPipelineConfig } from '../src/config/index.js';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { joinSegmentTexts } from '../stages/qwen3-asr/text/join.js';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';

const RATE = 16000;
/** The mel hop: cuts fall on multiples of it. */
const HOP = 160;
/** Half the 100 ms window whose energy the splitter compares. */
const HALF_WINDOW = 800;
const MAX_DURATION_S = 100;
const FEW_TOKENS = '4';

const fixture = (name: string) => new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name)));
const jfk = (await decodeAudio(fixture('jfk.wav'), { maxDurationS: 60 })).channels[0];

/** 16-bit mono 16 kHz WAV of these samples (jfk's own 16-bit values survive exactly). */
function wavOf(samples: Float32Array): Uint8Array {
  const data = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) data[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768)));
  return buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(data.buffer) });
}

/** jfk pieces and silences end to end; returns the samples and where each silence starts. */
function compose(parts: ({ speechS: number } | { silenceS: number })[]): { samples: Float32Array; silences: number[] } {
  const chunks: Float32Array[] = [];
  const silences: number[] = [];
  let length = 0;
  for (const part of parts) {
    const chunk = 'speechS' in part ? jfk.subarray(0, Math.round(part.speechS * RATE)) : new Float32Array(Math.round(part.silenceS * RATE));
    if ('silenceS' in part) silences.push(length);
    chunks.push(chunk);
    length += chunk.length;
  }
  const samples = new Float32Array(length);
  let at = 0;
  for (const chunk of chunks) samples.set(chunk, (at += chunk.length) - chunk.length);
  return { samples, silences };
}

// Nominal cuts at 30 s and (first cut + 30 s); the silences sit about a second before each.
const long = compose([{ speechS: 11 }, { speechS: 11 }, { speechS: 7 }, { silenceS: 0.5 }, { speechS: 11 }, { speechS: 11 }, { speechS: 6.5 }, { silenceS: 0.5 }, { speechS: 11 }]);

/** Where the splitter must cut: the first hop-aligned point whose whole window is silent. */
function expectedCut(silenceStart: number): number {
  let start = silenceStart;
  while (start > 0 && long.samples[start - 1] === 0) start--; // speech may end on zero samples
  return Math.ceil((start + HALF_WINDOW) / HOP) * HOP;
}
const cuts = long.silences.map(expectedCut).map((c) => c / RATE);
const duration = long.samples.length / RATE;

const server = await startTinyServer({ overrides: [['stages.decode.options.max_duration_s', String(MAX_DURATION_S)]] });
t.teardown(() => server.close());

function post(bytes: Uint8Array, fields: Record<string, string>, type = 'audio/wav', filename = 'long.wav'): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([bytes.slice()], { type }), filename);
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  return fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
}

/** Tokens the pipeline gives for these samples on their own. */
async function tokensOf(samples: Float32Array): Promise<number[]> {
  const bytes = wavOf(samples);
  const params = { temperature: 0, stream: false, response_format: 'json', language: 'en', max_new_tokens: Number(FEW_TOKENS) };
  const out = (await server.pipeline.submit({ audio: bytes.buffer, filename: 'piece.wav', contentType: 'audio/wav', params })) as { segments: { tokens: number[] }[] };
  t.equal(out.segments.length, 1, 'a piece under max_segment_s is one segment');
  return out.segments[0].tokens;
}

t.test('split inside the silences near each 30 s boundary, with real times in every format', async (t) => {
  t.same(cuts, [29.05, 58.05], 'the silences start at 29.0 s and 58.0 s');
  t.equal(duration, 69.5);
  const bytes = wavOf(long.samples);
  const fields = { language: 'en', max_new_tokens: FEW_TOKENS };

  const res = await post(bytes, { ...fields, response_format: 'verbose_json' });
  t.equal(res.status, 200);
  const verbose = await res.json();
  const bounds = [0, ...cuts, duration];
  t.same(
    verbose.segments.map((s: { id: number; start: number; end: number; seek: number }) => [s.id, s.start, s.end, s.seek]),
    cuts.concat(duration).map((end, i) => [i, bounds[i], end, Math.round(bounds[i] * 100)]),
  );
  t.match(verbose, { duration, language: 'english', usage: { type: 'duration', seconds: 70 } });

  const texts: string[] = verbose.segments.map((s: { text: string }) => s.text);
  t.ok(texts.every((text) => text.trim() !== ''), 'every segment has text, so every one becomes a cue');
  t.equal(verbose.text, joinSegmentTexts(texts), 'segment texts joined at script-aware seams');
  for (const [i, segment] of verbose.segments.entries()) {
    const own = long.samples.subarray(Math.round(bounds[i] * RATE), Math.round(bounds[i + 1] * RATE));
    t.same(segment.tokens, await tokensOf(own), `segment ${i} is the transcript of its own audio`);
  }

  const srt = await (await post(bytes, { ...fields, response_format: 'srt' })).text();
  t.equal(
    srt,
    `1\n00:00:00,000 --> 00:00:29,050\n${texts[0].trim()}\n\n` +
      `2\n00:00:29,050 --> 00:00:58,050\n${texts[1].trim()}\n\n` +
      `3\n00:00:58,050 --> 00:01:09,500\n${texts[2].trim()}\n\n`,
  );
  const vtt = await (await post(bytes, { ...fields, response_format: 'vtt' })).text();
  t.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> 00:00:29\.050\n[^]*\n\n00:00:29\.050 --> 00:00:58\.050\n[^]*\n\n00:00:58\.050 --> 00:01:09\.500\n/);

  const stream = await (await post(bytes, { ...fields, stream: 'true' })).text();
  t.match(stream, `"type":"transcript.text.done","text":${JSON.stringify(verbose.text)}`, 'the streamed text is the same join');
});

t.test('past max_duration_s: 400 on param file, from the header before decoding', async (t) => {
  const tooLong = compose([{ speechS: 11 }, { silenceS: MAX_DURATION_S - 10 }]);
  const res = await post(wavOf(tooLong.samples), {});
  t.equal(res.status, 400);
  t.same(await res.json(), {
    error: { message: `Audio file is 101.0 s long; the limit is ${MAX_DURATION_S} s`, type: 'invalid_request_error', param: 'file', code: 'audio_too_long' },
  });

  // A FLAC whose STREAMINFO claims two hours but that holds a second or so of audio:
  // only a check of the header can call it too long.
  const flac = fixture('clip.flac');
  t.equal(new TextDecoder().decode(flac.subarray(0, 4)), 'fLaC');
  const info = new DataView(flac.buffer, flac.byteOffset + 8);
  const sampleRate = info.getUint32(10) >>> 12;
  const claimed = 7200 * sampleRate;
  // total samples: the low 36 bits of the 64 bits at offset 10 of STREAMINFO
  info.setUint8(13, (info.getUint8(13) & 0xf0) | Math.floor(claimed / 2 ** 32));
  info.setUint32(14, claimed >>> 0);
  const lying = await post(flac, {}, 'audio/flac', 'lying.flac');
  t.equal(lying.status, 400);
  t.match(await lying.json(), { error: { code: 'audio_too_long', param: 'file', message: /7200\.0 s long/ } });

  const honest = await post(fixture('clip.flac'), { max_new_tokens: FEW_TOKENS }, 'audio/flac', 'clip.flac');
  t.equal(honest.status, 200, 'the same file with its true header is transcribed');
});

t.test('max_segment_s is configurable up to the model\'s 1200 s in one pass', async (t) => {
  const file = path.join(repoRoot(), 'pipelines/qwen3-asr.yaml');
  const features = async (value: string) => (await loadPipelineConfig(file, { overrides: [['stages.features.options.max_segment_s', value]] })).stages.find((s) => s.name === 'features')!.options;
  t.match(await features('1200'), { max_segment_s: 1200 });
  await t.rejects(features('1201'), ConfigError);
  t.match((await loadPipelineConfig(file)).stages.find((s) => s.name === 'features')!.options, { max_segment_s: 30, search_s: 2 }, 'the shipped pipeline cuts at 30 s');
});
