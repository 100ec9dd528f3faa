// Encoder reuse of completed attention windows (common/engine/window-cache.ts,
// MelInput.skipWindows) on the real runner and the golden tiny checkpoint: a
// 21 s clip grows by 1.5 s at a time, as a live turn's partials re-encode it;
// encoding each version through the window cache gives the same embeddings as
// encoding it whole, the counter shows the windows taken from the cache, and
// the count is what an independent comparison of the windows' features says.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel, type LogMel } from '../stages/audio/mel.js';
import { fingerprintColumns, WindowCache } from '../stages/common/engine/window-cache.js';
import type { Precision } from '../stages/common/engine/runner.js';
import { createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { MelInput } from '../stages/qwen3-asr/runner/types.js';

const checkpoint = path.join(repoRoot(), 'test/fixtures/golden/qwen3-asr-tiny/checkpoint');
const tmp = path.join(repoRoot(), 'test/.tmp/encoder-windows');
fs.rmSync(tmp, { recursive: true, force: true });

/** 21 s of tones with a loud click at 0.1 s (the log-mel's floor follows the loudest frame: this keeps it still). */
const SECONDS = 21;
const samples = Float32Array.from({ length: 16000 * SECONDS }, (_, i) => 0.2 * Math.sin(i * 0.031) * Math.sin(i * 0.0007) + 0.05 * Math.sin(i * 0.29) + (i >= 1600 && i < 1632 ? 0.9 : 0));
/** The live turn's versions: every 1.5 s from 1.5 s to the end. */
const versions: LogMel[] = [];
for (let s = 1.5; s <= SECONDS; s += 1.5) versions.push(whisperLogMel(samples.subarray(0, Math.round(s * 16000)), 128));

/** Columns of window `w` of a mel, for an element-by-element comparison independent of the fingerprint. */
function windowColumns(m: LogMel, w: number, frames: number): Float32Array {
  const out = new Float32Array(m.nMels * frames);
  for (let r = 0; r < m.nMels; r++) out.set(m.mel.subarray(r * m.frames + w * frames, r * m.frames + (w + 1) * frames), r * frames);
  return out;
}
const equal = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

for (const precision of ['fp32', 'int8'] as Precision[]) {
  t.test(`${precision}: growing audio through the window cache = encoded whole; reused windows counted`, async (t) => {
    const runner = await createEncoderRunner({ modelPath: checkpoint, cacheDir: path.join(tmp, 'cache'), precision, device: 'cpu', threads: 1 });
    t.teardown(() => runner.dispose());
    const { frames: windowFrames, tokens: windowTokens } = runner.window;
    const cache = new WindowCache(64 << 20, windowTokens * runner.outputDim);
    const keysOf = (m: LogMel) => Array.from({ length: Math.floor(m.frames / windowFrames) }, (_, w) => fingerprintColumns(m.mel, m.nMels, m.frames, w * windowFrames, (w + 1) * windowFrames));

    const seen: Float32Array[][] = []; // per window index, every version of its features encoded so far
    let expectedReused = 0;
    let worst = 0;
    for (const [v, m] of versions.entries()) {
      const whole = (await runner.encode([{ mel: m.mel, frames: m.frames }]))[0];
      let asked: number[] = [];
      const [viaCache] = await cache.encodeAll([{ input: { mel: m.mel, frames: m.frames } as MelInput, windowKeys: keysOf(m) }], (items) => {
        asked = items.map((i) => i.skip);
        return runner.encode(items.map(({ input, skip }) => ({ ...input, skipWindows: skip })));
      });
      t.equal(viaCache.length, whole.length, `version ${v} (${m.frames} frames): same length`);
      for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i] - viaCache[i]));
      // Independent count: leading windows whose features equal a version encoded before.
      let reusable = 0;
      while (reusable < keysOf(m).length && (seen[reusable] ?? []).some((cols) => equal(cols, windowColumns(m, reusable, windowFrames)))) reusable++;
      t.same(asked, [reusable], `version ${v}: the encoder skips the ${reusable} windows seen before`);
      expectedReused += reusable;
      for (let w = 0; w < keysOf(m).length; w++) (seen[w] ??= []).push(windowColumns(m, w, windowFrames));
    }
    t.equal(cache.reused, expectedReused, `${cache.reused} windows reused`);
    t.ok(cache.reused >= 10, 'windows 0 and 1 are reused by most versions after they complete');
    // Same graph, same rows: the windows' arithmetic is the same whatever else is in the run.
    t.ok(worst <= 1e-6, `max |Δ| ${worst.toExponential(2)} ≤ 1e-6`);
  });
}

t.test('skipWindows must be a whole number of complete windows', async (t) => {
  const runner = await createEncoderRunner({ modelPath: checkpoint, cacheDir: path.join(tmp, 'cache'), precision: 'fp32', device: 'cpu', threads: 1 });
  t.teardown(() => runner.dispose());
  const m = versions[6]; // 10.5 s: one complete window
  await t.rejects(runner.encode([{ mel: m.mel, frames: m.frames, skipWindows: 2 }]), { code: 'ERR_ENCODER_INPUT' });
  await t.rejects(runner.encode([{ mel: m.mel, frames: m.frames, skipWindows: 0.5 }]), { code: 'ERR_ENCODER_INPUT' });
  const exact = whisperLogMel(samples.subarray(0, 16000 * 8 + 80), 128);
  const [rest] = await runner.encode([{ mel: exact.mel, frames: exact.frames, skipWindows: Math.floor(exact.frames / runner.window.frames) }]);
  t.equal(rest.length, 0, 'a clip of exactly its complete windows has nothing left to encode');
});
