// Issue 11, item 1: no upload can make the server read a file from its own disk. Manifests,
// playlists and reference movies that name a real .m4a on this machine go through the real
// server and pipeline: each must be refused (4xx, OpenAI error shape, nothing about the file
// in the message), and the file must not be read: its access time, set in the past, stays
// unchanged (checked only where a read here moves a twin's access time: relatime, not noatime).
// The ffmpeg command line is checked for the restrictions themselves, and the legitimate
// container fixtures still transcribe.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import t from 'tap';
import { ffmpegArgs } from '../stages/audio/ffmpeg.js';
import { repoRoot } from '../src/util/paths.js';
import { hostileUploads, movWithAlias } from './fixtures/audio/hostile-media.js';
import { startTinyServer, TINY_MODEL_NAME } from './fixtures/server/tiny-server.js';

const fixtures = path.join(repoRoot(), 'test/fixtures/audio');
// a folder with a unique name in the temp dir, next to where ffmpeg's input used to be written
const secretDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-secret-'));
const target = path.join(secretDir, 'secret.m4a');
const twin = path.join(secretDir, 'twin.m4a');
fs.copyFileSync(path.join(fixtures, 'clip-moov-at-end.m4a'), target);
fs.copyFileSync(target, twin);
t.teardown(() => fs.rmSync(secretDir, { recursive: true, force: true }));
const relative = `../${path.basename(secretDir)}/secret.m4a`;

// access time a day before the modification time: a read moves it under relatime and strictatime
const past = (file: string) => {
  const { mtimeMs } = fs.statSync(file);
  fs.utimesSync(file, (mtimeMs - 86_400_000) / 1000, mtimeMs / 1000);
  return fs.statSync(file).atimeMs;
};
const targetAtime = past(target);
const twinAtime = past(twin);
fs.readFileSync(twin);
const atimeMoves = fs.statSync(twin).atimeMs !== twinAtime;

const server = await startTinyServer();
t.teardown(() => server.close());

async function post(bytes: Uint8Array, filename: string): Promise<{ status: number; body: any }> {
  const form = new FormData();
  form.append('file', new Blob([Uint8Array.from(bytes)]), filename);
  form.append('model', TINY_MODEL_NAME);
  form.append('max_new_tokens', '4');
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form, signal: AbortSignal.timeout(60_000) });
  return { status: res.status, body: await res.json() };
}

t.test('manifests, playlists and reference movies naming a server file are refused', async (t) => {
  const cases = hostileUploads(target, relative);
  t.ok(cases.length >= 40, `${cases.length} hostile uploads`);
  for (const [name, bytes] of cases) {
    for (const filename of ['audio.m4a', 'manifest.mpd']) {
      const { status, body } = await post(bytes, filename);
      t.ok(status === 400 || status === 415, `${name} (${filename}): ${status} ${body.error?.code}`);
      t.match(body, { error: { message: String, type: 'invalid_request_error', param: 'file', code: /^audio_(unsupported|decode|empty)$/ } }, `${name}: OpenAI error shape`);
      t.notOk(JSON.stringify(body).includes(path.basename(secretDir)), `${name}: the answer says nothing of the target`);
    }
  }
  if (atimeMoves) t.equal(fs.statSync(target).atimeMs, targetAtime, 'the target file was never read');
  else t.comment('this file system does not move access times (noatime): the read check is skipped');
});

t.test('ffmpeg may read only stdin, as the one demuxer the sniffer chose', async (t) => {
  const args = ffmpegArgs({ container: 'mp4', demuxer: 'mov' }, { maxDurationS: 10 });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.equal(value('-protocol_whitelist'), 'pipe,cache');
  t.equal(value('-i'), 'cache:pipe:0');
  t.same([value('-f'), value('-format_whitelist')], ['mov', 'mov'], 'demuxer pinned, no probing, nothing nested');
  t.equal(value('-enable_drefs'), '0', 'MOV external data references off');
  t.ok(args.indexOf('-f') < args.indexOf('-i') && args.indexOf('-protocol_whitelist') < args.indexOf('-i'), 'restrictions apply to the input');
});

t.test('the reference movie does name the target: ffmpeg with drefs enabled reads it, ours does not', async (t) => {
  const movie = movWithAlias(target);
  const run = (extra: string[]) =>
    spawnSync(ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', ...extra, '-f', 'mov', '-i', 'pipe:0', '-f', 'null', '-'], { input: movie, encoding: 'utf8', timeout: 30_000 });
  const before = past(target);
  run(['-protocol_whitelist', 'pipe,file', '-enable_drefs', '1', '-use_absolute_path', '1']);
  const opened = fs.statSync(target).atimeMs !== before;
  if (atimeMoves) t.ok(opened, 'unrestricted ffmpeg opened the target named in the alias');
  const ours = ffmpegArgs({ container: 'mp4', demuxer: 'mov' }, { maxDurationS: 10 });
  // and were drefs on, the protocol whitelist alone would still keep the file closed
  const drefsOn = ours.map((arg, i) => (ours[i - 1] === '-enable_drefs' || ours[i - 1] === '-use_absolute_path' ? '1' : arg));
  for (const [name, args] of [['our command line', ours], ['ours with drefs switched on', drefsOn]] as const) {
    const again = past(target);
    const { stderr } = spawnSync(ffmpegInstaller.path, [...args.slice(0, -1), '-loglevel', 'debug', '-f', 'null', '-'], { input: movie, encoding: 'utf8', timeout: 30_000 });
    if (args === ours) t.notOk(stderr.includes(`Opening '${target}'`), `${name}: ffmpeg never tries to open the target`);
    else t.match(stderr, /Protocol 'file' not on whitelist 'pipe,cache'/, `${name}: the open is refused by the protocol whitelist`);
    if (atimeMoves) t.equal(fs.statSync(target).atimeMs, again, `${name}: the target is not read`);
  }
  if (!atimeMoves) t.comment('access times do not move here: only the refusals are checked');
});

t.test('legitimate uploads still transcribe', async (t) => {
  const files = ['clip-moov-at-end.m4a', 'clip-with-video.mp4', 'clip.webm', 'clip.mpeg', 'clip-44k-stereo.ogg', 'clip.opus', 'clip.flac', 'jfk.wav', 'jfk-44k-stereo.mp3'];
  for (const file of files) {
    const { status, body } = await post(new Uint8Array(fs.readFileSync(path.join(fixtures, file))), file);
    t.equal(status, 200, `${file}: ${JSON.stringify(body).slice(0, 120)}`);
  }
});
