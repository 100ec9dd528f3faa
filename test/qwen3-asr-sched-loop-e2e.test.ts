// The loop guard on a real model: the tiny random checkpoint falls into a loop on
// jfk.wav (as random weights do), so with the decoder's default guard the segment
// ends early, on the same greedy path, with nothing left for the official cleanup
// to collapse, and the decoder counts it; over HTTP the answer is the same.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { TranscriptionResult } from '../src/contracts/transcription.js';
import { repoRoot } from '../src/util/paths.js';
import { fixRepetitions } from '../stages/qwen3-asr/text/parse.js';
import { startTinyServer, type TinyServer } from './fixtures/server/tiny-server.js';

const wav = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/jfk.wav'));
const MAX_NEW = 400;

async function transcribe(server: TinyServer): Promise<TranscriptionResult> {
  const audio = wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength);
  const params = { temperature: 0, stream: false, response_format: 'verbose_json', max_new_tokens: MAX_NEW };
  return (await server.pipeline.submit({ audio, filename: 'jfk.wav', contentType: 'audio/wav', params })) as unknown as TranscriptionResult;
}

// decoder.plugin.yaml's default guard (the tiny-server fixture turns it off for fidelity tests).
const guarded = await startTinyServer({ overrides: [['stages.decoder.options.loop_max_period', '32']] });
t.teardown(() => guarded.close());
const unguarded = await startTinyServer();
t.teardown(() => unguarded.close());

t.test('a looping segment stops early on the same path, with nothing left for the cleanup', async (t) => {
  const full = await transcribe(unguarded);
  const cut = await transcribe(guarded);
  const [fullTokens, cutTokens] = [full.segments[0].tokens, cut.segments[0].tokens];
  t.equal(fullTokens.length, MAX_NEW, 'unguarded, the tiny model loops to max_new_tokens');
  t.ok(cutTokens.length < MAX_NEW / 4, `guarded: ${cutTokens.length} tokens kept`);
  t.same(cutTokens, fullTokens.slice(0, cutTokens.length), 'the same greedy path up to the cut');
  // Here the unit is one byte-level token (half a character), so the whole loop decodes to other
  // characters than one copy does; the check is that nothing is left for the cleanup to collapse.
  t.equal(fixRepetitions(cut.text), cut.text, 'no repetition left in the guarded text');
  t.ok(cut.text.length <= full.text.length, 'no longer than the unguarded text');
  t.comment(`text ${JSON.stringify(cut.text)}`);

  const metrics = await (await fetch(`${guarded.base}/metrics`)).text();
  const stops = /sgl_omni_worker_loop_stops\{[^}]*\} (\d+)/.exec(metrics);
  t.ok(stops && Number(stops[1]) >= 1, `the decoder counts the stop (${stops?.[0]})`);
});

t.test('over HTTP: the same guarded transcript', async (t) => {
  const form = new FormData();
  form.append('file', new Blob([wav], { type: 'audio/wav' }), 'jfk.wav');
  form.append('max_new_tokens', String(MAX_NEW));
  const res = await fetch(`${guarded.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  t.equal(res.status, 200);
  t.equal(((await res.json()) as { text: string }).text, (await transcribe(guarded)).text);
});
