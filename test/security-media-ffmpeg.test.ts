// ffmpeg is a 2018 static build parsing hostile bytes (issue 11, attacker re-test F5 and F8):
// it starts under kernel limits (CPU seconds, address space, no core files, file size), read
// back from /proc/self/limits of a child started the same way, through prlimit and through the
// shell fallback; and a stream whose packets mostly fail to decode is a 400, not noise: the
// `#!AMR` + text upload was answered 200 at 8cd9e38 (1 packet in 3 decoded; random bytes 1 in 2),
// while a real AMR-NB stream still decodes.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { limitedCommand } from '../stages/audio/child-limits.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { ffmpegLimits } from '../stages/audio/ffmpeg.js';
import { repoRoot } from '../src/util/paths.js';

const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;

/** "Max cpu time  120  120  seconds" → soft and hard, per limit name. */
function limitsOf(text: string): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const line of text.split('\n').slice(1)) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], [m[2], m[3]]);
  }
  return out;
}

for (const via of ['prlimit', 'sh'] as const) {
  t.test(`a child started ${via === 'sh' ? 'by the shell fallback' : 'by prlimit'} runs under the limits`, { skip: via === 'prlimit' && !hasPrlimit && 'prlimit not installed' }, async (t) => {
    const limits = ffmpegLimits(new Uint8Array(3 * 2 ** 20));
    const cmd = limitedCommand('/bin/cat', ['/proc/self/limits'], limits, via);
    t.equal(cmd.via, via);
    const run = spawnSync(cmd.command, cmd.args, { encoding: 'utf8' });
    t.equal(run.status, 0, run.stderr);
    const got = limitsOf(run.stdout);
    const both = (v: number | string) => [String(v), String(v)];
    t.same(got.get('Max cpu time'), both(limits.cpuSeconds));
    t.same(got.get('Max address space'), both(limits.addressSpaceBytes));
    t.same(got.get('Max core file size'), both(0));
    // ulimit -f counts 512-byte blocks: the limit is rounded up to one
    t.same(got.get('Max file size'), both(Math.ceil(limits.fileSizeBytes / 512) * 512));
    t.ok(limits.fileSizeBytes >= 3 * 2 ** 20, 'cache: may still copy the whole upload');
  });
}

const ascii = (s: string) => new TextEncoder().encode(s);
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}
const lorem = Array.from({ length: 60 }, (_, i) => `Lorem ipsum dolor sit amet, consectetur adipiscing elit ${i}\n`).join('');

t.test('an AMR header over text or random bytes is a 400 audio_decode; a real AMR stream decodes', async (t) => {
  const opts = { maxDurationS: 100 };
  const cases: [string, Uint8Array][] = [
    ['#!AMR + html', ascii('#!AMR\n<html><body>not audio</body></html>\n')],
    ['#!AMR + text', ascii(`#!AMR\n${lorem}`)],
    ['#!AMR + random bytes', new Uint8Array([...ascii('#!AMR\n'), ...randomBytes(20000, 7)])],
    ['#!AMR-WB + text', ascii(`#!AMR-WB\n${lorem}`)],
  ];
  for (const [name, bytes] of cases) {
    await t.rejects(decodeAudio(bytes, opts), { code: 'ERR_AUDIO_DECODE', kind: 'invalid_input', param: 'file', message: /corrupt/ }, name);
  }
  const real = await decodeAudio(new Uint8Array(fs.readFileSync(path.join(repoRoot(), 'test/fixtures/audio/clip.amr'))), opts);
  t.ok(Math.abs(real.duration - 3) < 0.05, `real AMR-NB: ${real.duration} s`);
  t.equal(real.sourceRate, 8000);
});
