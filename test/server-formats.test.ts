import t from 'tap';
import { formatTranscription, subtitleTimestamp, toSrt, toVtt } from '../src/server/handlers/openai-audio/response-formats.js';
import type { TranscriptSegment } from '../src/contracts/transcription.js';
import { MalformedResultError, readTranscriptionResult } from '../src/server/handlers/openai-audio/transcription-result.js';
import { CANNED_RESULT } from './fixtures/server/scripted-pipeline.js';

const result = readTranscriptionResult(CANNED_RESULT);
const segment = (start: number, end: number, text: string): TranscriptSegment =>
  ({ id: 0, start, end, text, tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 0, no_speech_prob: 0 });

t.test('subtitle timestamps', async (t) => {
  t.equal(subtitleTimestamp(1.5, ','), '00:00:01,500');
  t.equal(subtitleTimestamp(1.5, '.'), '00:00:01.500');
  t.equal(subtitleTimestamp(0, ','), '00:00:00,000');
  t.equal(subtitleTimestamp(3661.001, ','), '01:01:01,001');
  t.equal(subtitleTimestamp(59.9996, '.'), '00:01:00.000', 'rounding carries into the next minute');
  t.equal(subtitleTimestamp(0.0004, '.'), '00:00:00.000');
  t.equal(subtitleTimestamp(10800, ','), '03:00:00,000', 'three hours');
  t.equal(subtitleTimestamp(360000.25, ','), '100:00:00,250', 'hours grow past two digits');
  t.equal(subtitleTimestamp(-0.3, ','), '00:00:00,000', 'negative clamps to zero');
});

t.test('srt bytes', async (t) => {
  t.equal(toSrt(result.segments), '1\n00:00:00,000 --> 00:00:01,500\nHello world.\n\n2\n00:00:01,500 --> 00:00:03,200\nSecond line here.\n\n');
  t.equal(toSrt([segment(0, 1, '  '), segment(1, 2, 'kept\n\n\nline')]), '1\n00:00:01,000 --> 00:00:02,000\nkept\nline\n\n', 'empty cues skipped and renumbered; blank lines removed');
  t.equal(toSrt([]), '');
});

t.test('vtt bytes', async (t) => {
  t.equal(toVtt(result.segments), 'WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello world.\n\n00:00:01.500 --> 00:00:03.200\nSecond line here.\n\n');
  t.equal(toVtt([segment(0, 2.25, 'a <b> & c --> d')]), 'WEBVTT\n\n00:00:00.000 --> 00:00:02.250\na &lt;b&gt; &amp; c --&gt; d\n\n');
  t.equal(toVtt([]), 'WEBVTT\n\n');
});

t.test('json, text and verbose_json bytes', async (t) => {
  const json = formatTranscription(result, 'json');
  t.equal(json.contentType, 'application/json; charset=utf-8');
  t.equal(json.body, '{"text":"Hello world. Second line here.","usage":{"type":"duration","seconds":4}}');

  const text = formatTranscription(result, 'text');
  t.equal(text.contentType, 'text/plain; charset=utf-8');
  t.equal(text.body, 'Hello world. Second line here.');

  const verbose = formatTranscription(result, 'verbose_json');
  t.equal(
    verbose.body,
    '{"task":"transcribe","language":"english","duration":3.2,"text":"Hello world. Second line here.","segments":[' +
      '{"id":0,"seek":0,"start":0,"end":1.5,"text":"Hello world.","tokens":[9707,1879,13],"temperature":0,"avg_logprob":-0.25,"compression_ratio":1.1,"no_speech_prob":0.01},' +
      '{"id":1,"seek":150,"start":1.5,"end":3.2,"text":" Second line here.","tokens":[10440,1555,1588,13],"temperature":0,"avg_logprob":-0.5,"compression_ratio":1.2,"no_speech_prob":0.02}],' +
      '"usage":{"type":"duration","seconds":4}}',
  );
  t.equal(formatTranscription(result, 'vtt').contentType, 'text/vtt; charset=utf-8');
  t.equal(formatTranscription(result, 'srt').body, toSrt(result.segments));
});

t.test('malformed pipeline results are refused, missing optional fields defaulted', async (t) => {
  t.throws(() => readTranscriptionResult({ duration: 1 }), MalformedResultError);
  t.throws(() => readTranscriptionResult({ text: 'x' }), MalformedResultError);
  t.throws(() => readTranscriptionResult({ text: 'x', duration: 1, segments: [{ start: 0, text: 'x' }] }), MalformedResultError);
  const minimal = readTranscriptionResult({ text: 'x', duration: 1, segments: [{ start: 0, end: 1, text: 'x' }] });
  t.same(minimal, { text: 'x', language: '', duration: 1, segments: [{ id: 0, start: 0, end: 1, text: 'x', tokens: [], temperature: 0, avg_logprob: 0, compression_ratio: 0, no_speech_prob: 0 }] });
});
