// Transcribe one file with the official `openai` npm package:
//   sgl-omni serve --model-path Qwen/Qwen3-ASR-1.7B --port 8000
//   node examples/node-openai.mjs [audio-file]
// Env: BASE_URL (default http://localhost:8000), MODEL (default Qwen/Qwen3-ASR-1.7B),
//      SGL_OMNI_API_KEY (only when the server was started with --api-key).
import fs from 'node:fs';
import OpenAI from 'openai';

const audio = process.argv[2] ?? new URL('../test/fixtures/audio/jfk.wav', import.meta.url).pathname;
const model = process.env.MODEL ?? 'Qwen/Qwen3-ASR-1.7B';
const client = new OpenAI({
  baseURL: `${process.env.BASE_URL ?? 'http://localhost:8000'}/v1`,
  // The SDK insists on a key; any string works when the server runs without --api-key.
  apiKey: process.env.SGL_OMNI_API_KEY ?? 'unused',
});

const json = await client.audio.transcriptions.create({ file: fs.createReadStream(audio), model, language: 'en' });
console.log('json:', json.text, json.usage);

const verbose = await client.audio.transcriptions.create({
  file: fs.createReadStream(audio),
  model,
  response_format: 'verbose_json',
  timestamp_granularities: ['segment'],
});
console.log(`verbose_json: language=${verbose.language} duration=${verbose.duration}s`);
for (const segment of verbose.segments ?? []) console.log(`  [${segment.start.toFixed(2)}-${segment.end.toFixed(2)}] ${segment.text}`);

const srt = await client.audio.transcriptions.create({ file: fs.createReadStream(audio), model, response_format: 'srt' });
console.log(`srt:\n${srt}`);

process.stdout.write('stream: ');
const stream = await client.audio.transcriptions.create({ file: fs.createReadStream(audio), model, stream: true });
for await (const event of stream) {
  if (event.type === 'transcript.text.delta') process.stdout.write(event.delta);
  else if (event.type === 'transcript.text.done') process.stdout.write(`\n(done: ${event.usage?.type === 'duration' ? event.usage.seconds : '?'} s of audio)\n`);
}
