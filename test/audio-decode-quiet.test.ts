// Corrupt frames in an upload write nothing to the server's stderr or stdout (the codec libraries
// print each one: bit-flipped Opus wrote 26 "libopus -4 OPUS_INVALID_PACKET" lines before), while
// the errors still shape the answer. Decodes in a child process so its whole stderr is seen.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { compiledPath, repoRoot } from '../src/util/paths.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decode-quiet-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The fixture with every 37th byte past the headers flipped, decoded in a fresh process. */
function decodeCorrupt(name: string): { stdout: string; stderr: string } {
  const bytes = fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio', name));
  for (let i = 200; i < bytes.length; i += 37) bytes[i] ^= 0x5a;
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  const script = `
    import fs from 'node:fs';
    const { decodeAudio } = await import(${JSON.stringify(compiledPath('stages/audio/decode.ts'))});
    const bytes = new Uint8Array(fs.readFileSync(${JSON.stringify(file)}));
    const result = await decodeAudio(bytes, { maxDurationS: 600 }).then((d) => 'decoded ' + d.duration.toFixed(1), (e) => 'refused ' + e.message);
    process.stdout.write(JSON.stringify(result));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  return { stdout: child.stdout, stderr: child.stderr };
}

for (const name of ['clip.opus', 'jfk-44k-stereo.mp3', 'clip-44k-stereo.ogg', 'clip.flac']) {
  t.test(`bit-flipped ${name}: answered, nothing on stderr`, async (t) => {
    const { stdout, stderr } = decodeCorrupt(name);
    t.match(stdout, /^"(decoded|refused) /, `an answer: ${stdout}`);
    t.equal(stderr, '', 'stderr empty');
  });
}
