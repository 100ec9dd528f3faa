// A server with a local model never touches the network for a request (issue 11, attacker
// re-test F7: DNS lookups during an attack run). The test runs itself again under strace as a
// child that starts the tiny server and sends one upload per decoder path (WAV, FLAC, MP3,
// Opus, MP4, WebM, AMR: the wasm decoders, ffmpeg and every model stage run), then checks that
// no thread connected or sent to anything but loopback. At 8cd9e38 onnxruntime's telemetry
// resolved mobile.events.data.microsoft.com (8 DNS queries in 45 s); ORT_DISABLE_TELEMETRY,
// set by the stage runner before any worker starts, stops it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const CHILD = 'SGL_OMNI_NETWORK_CHILD';
const IDLE_WATCH_MS = 15_000;
const FIXTURES = ['jfk.wav', 'clip.flac', 'jfk-44k-stereo.mp3', 'clip.opus', 'clip-with-video.mp4', 'clip.webm', 'clip.amr'];

if (process.env[CHILD]) {
  const { startTinyServer, TINY_MODEL_NAME } = await import('./fixtures/server/tiny-server.js');
  const { repoRoot } = await import('../src/util/paths.js');
  const server = await startTinyServer();
  const statuses: number[] = [];
  for (const name of FIXTURES) {
    const form = new FormData();
    form.append('file', new Blob([fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name))]), name);
    form.append('model', TINY_MODEL_NAME);
    form.append('max_new_tokens', '2');
    const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  // onnxruntime's telemetry sends on its own timer (queries came 6, 10, 20 and 34 s after the
  // first upload): the server stays up, idle, long enough for it to show. Absence over a window
  // is what is tested, so this wait is the measurement, not a stand-in for an event.
  await new Promise((resolve) => setTimeout(resolve, IDLE_WATCH_MS));
  await server.close();
  fs.writeFileSync(process.env[CHILD], JSON.stringify(statuses));
} else {
  const strace = spawnSync('strace', ['-V']).status === 0;
  t.test('no connect or send leaves loopback while serving uploads', { skip: !strace && 'strace not installed' }, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'network-'));
    const trace = path.join(dir, 'trace');
    const result = path.join(dir, 'statuses.json');
    const env: NodeJS.ProcessEnv = { ...process.env, [CHILD]: result };
    delete env.ORT_DISABLE_TELEMETRY; // what the server does by itself
    const run = spawnSync('strace', ['-f', '-qq', '-e', 'trace=connect,sendto,sendmsg', '-e', 'signal=none', '-o', trace, process.execPath, fileURLToPath(import.meta.url)], {
      env, encoding: 'utf8', timeout: 400_000,
    });
    t.equal(run.status, 0, run.stderr.slice(-2000));
    t.same(JSON.parse(fs.readFileSync(result, 'utf8')), FIXTURES.map(() => 200), 'every upload transcribed');
    const calls = fs.readFileSync(trace, 'utf8').split('\n').filter((line) => /\b(connect|sendto|sendmsg)\(/.test(line));
    t.ok(calls.some((line) => line.includes('127.0.0.1')), 'the trace saw the loopback requests');
    const outside = calls.filter((line) => /AF_INET6?/.test(line) && !/inet_addr\("127\.0\.0\.1"\)|inet_pton\(AF_INET6, "::1"/.test(line));
    t.same(outside, [], 'no connection to any other address (DNS included)');
    const dns = calls.filter((line) => /htons\(53\)/.test(line));
    t.same(dns, [], 'no DNS query');
    fs.rmSync(dir, { recursive: true, force: true });
  });
}
