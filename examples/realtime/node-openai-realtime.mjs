// Live transcription with the official `openai` npm package's realtime client:
// streams a WAV file at real time to /v1/realtime and prints each turn's transcript
// as it arrives (deltas, then the completed text).
//   sgl-omni serve --model-path Qwen/Qwen3-ASR-0.6B --port 8000
//   node examples/realtime/node-openai-realtime.mjs [file.wav] [--manual]
// file.wav: 16-bit PCM (any rate, mono or first channel); default test/fixtures/audio/jfk.wav.
// --manual: turn detection off, one commit at the end (default: the server's VAD finds turns).
// Env: BASE_URL (default http://localhost:8000), MODEL (default Qwen/Qwen3-ASR-0.6B),
//      SGL_OMNI_API_KEY (only when the server was started with --api-key), FAST=1 (no real-time pacing).
import fs from 'node:fs';
import net from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';

const args = process.argv.slice(2);
const manual = args.includes('--manual');
const file = args.find((a) => !a.startsWith('--')) ?? new URL('../../test/fixtures/audio/jfk.wav', import.meta.url).pathname;
const baseURL = `${process.env.BASE_URL ?? 'http://localhost:8000'}/v1`;
const client = new OpenAI({ baseURL, apiKey: process.env.SGL_OMNI_API_KEY ?? 'unused' });

/** The WAV's first channel as PCM16 at 24 kHz, the rate OpenAI's realtime API takes (linear interpolation). */
function pcm24k(path) {
  const wav = fs.readFileSync(path);
  let at = 12;
  let fmt;
  while (at + 8 <= wav.length) {
    const id = wav.toString('ascii', at, at + 4);
    const size = wav.readUInt32LE(at + 4);
    if (id === 'fmt ') fmt = { channels: wav.readUInt16LE(at + 10), rate: wav.readUInt32LE(at + 12), bits: wav.readUInt16LE(at + 22) };
    if (id === 'data') {
      if (!fmt || fmt.bits !== 16) throw new Error(`${path}: needs 16-bit PCM WAV`);
      const frames = Math.floor(Math.min(size, wav.length - at - 8) / (2 * fmt.channels));
      const sample = (i) => wav.readInt16LE(at + 8 + 2 * fmt.channels * Math.min(i, frames - 1));
      const out = Buffer.alloc(2 * Math.floor((frames * 24000) / fmt.rate));
      for (let j = 0; j < out.length / 2; j++) {
        const x = (j * fmt.rate) / 24000;
        const i = Math.floor(x);
        out.writeInt16LE(Math.round(sample(i) + (sample(i + 1) - sample(i)) * (x - i)), 2 * j);
      }
      return out;
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}

// The SDK always dials wss://; a plain-HTTP server (no TLS in front) is reached over plain TCP.
const plain = baseURL.startsWith('http://');
const rt = new OpenAIRealtimeWS({ model: process.env.MODEL ?? 'Qwen/Qwen3-ASR-0.6B', options: plain ? { createConnection: (o) => net.connect(o) } : {} }, client);
const text = new Map();
let open = 0;
let speaking = false;
let sent = false;
let updates = 0;
const finish = () => sent && open === 0 && !speaking && rt.close();
const session = { type: 'transcription', audio: { input: { turn_detection: manual ? null : { type: 'server_vad', silence_duration_ms: 500 } } } };

rt.on('error', (err) => console.error('error:', err.error ?? err.message));
rt.on('input_audio_buffer.speech_started', (e) => {
  speaking = true;
  console.log(`[speech started at ${e.audio_start_ms} ms]`);
});
rt.on('input_audio_buffer.speech_stopped', () => (speaking = false));
// The server handles events in order: the second session.updated means all the audio before it was read.
rt.on('session.updated', () => {
  if (++updates < 2) return;
  sent = true;
  finish();
});
rt.on('input_audio_buffer.committed', () => open++);
// Deltas of a long turn start while it is spoken, before its commit (only text that will not change).
rt.on('conversation.item.input_audio_transcription.delta', (e) => text.set(e.item_id, (text.get(e.item_id) ?? '') + e.delta));
rt.on('conversation.item.input_audio_transcription.completed', (e) => {
  console.log(`turn: ${e.transcript}  (${e.usage.seconds.toFixed(2)} s of audio)`);
  if ((text.get(e.item_id) ?? '') !== e.transcript) console.error('the deltas, joined, differ from the transcript');
  open--;
  finish();
});
rt.on('conversation.item.input_audio_transcription.failed', (e) => {
  console.error('turn failed:', e.error.message);
  open--;
  finish();
});

rt.socket.on('open', async () => {
  rt.send({ type: 'session.update', session });
  const audio = pcm24k(file);
  const chunk = 4800; // 100 ms
  for (let at = 0; at < audio.length; at += chunk) {
    rt.send({ type: 'input_audio_buffer.append', audio: audio.subarray(at, at + chunk).toString('base64') });
    if (!process.env.FAST) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (manual) rt.send({ type: 'input_audio_buffer.commit' });
  // with the VAD, one second of silence ends the last turn
  else for (let i = 0; i < 10; i++) rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(chunk).toString('base64') });
  rt.send({ type: 'session.update', session });
});
