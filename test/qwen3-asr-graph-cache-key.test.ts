// The graph cache key covers every weight byte a part reads: two checkpoints of
// one shape (different seeds) sharing a cache each get their own graphs and
// outputs; a byte changed in place (even with its mtime put back) makes a new
// entry; digests are remembered so a second start reads nothing; a hub blob is
// named by its sha256 and is not read at all; the code of the graph builders is
// part of the key.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { SafetensorsCheckpoint } from '../stages/common/weights/safetensors.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { graphCacheKey, type HashProgress } from '../stages/common/graph/cache.js';
import { convertModel } from '../stages/qwen3-asr/graph/convert.js';
import { referenceLogits } from '../stages/qwen3-asr/reference/decoder.js';
import { referenceEncode } from '../stages/qwen3-asr/reference/encoder.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { loadTinyModel, seededValues, tinyModel } from '../stages/qwen3-asr/reference/fixture.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';

const seven = await tinyModel('qwen3-asr-graph-cache-key', 7);
const eightDir = path.join(seven.dir, '..', 'checkpoint-seed8');
await makeCheckpoint({ size: 'tiny', out: eightDir, seed: 8 });
const eight = loadTinyModel(eightDir);
const cacheDir = seven.cacheDir;
const mel = { frames: 230, mel: seededValues(128 * 230, 3, 1.5) };

/** fp32 encoder output and prefill logits of a checkpoint through the shared cache. */
async function outputs(dir: string) {
  const base = { modelPath: dir, cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
  const enc = await createEncoderRunner(base);
  const dec = await createDecoderRunner({ ...base, maxSlots: 1, maxContext: 64 });
  const [audio] = await enc.encode([mel]);
  const ids = [1, 2, ...new Array(audio.length / 64).fill(seven.decoder.audioTokenId), 3];
  const logits = await dec.prefill(0, Int32Array.from(ids), audio);
  await Promise.all([enc.dispose(), dec.dispose()]);
  return { audio, logits, ids };
}

t.test('two same-shape checkpoints sharing one cache each serve their own outputs', async (t) => {
  const a = await convertModel({ modelPath: seven.dir, cacheDir, precision: 'fp32' });
  const b = await convertModel({ modelPath: eightDir, cacheDir, precision: 'fp32' });
  t.not(b.encoderPath, a.encoderPath);
  t.not(b.decoderPath, a.decoderPath);
  for (const m of [seven, eight, seven]) {
    const out = await outputs(m.dir);
    const enc = referenceEncode(m.reference, m.encoder, mel.mel, mel.frames).data;
    t.ok(relativeError(out.audio, enc) < 1e-4, `${path.basename(m.dir)}: its own encoder output (${relativeError(out.audio, enc).toExponential(2)})`);
    const logits = referenceLogits(m.reference, m.decoder, out.ids, out.audio);
    t.ok(relativeError(out.logits, logits) < 1e-4, `${path.basename(m.dir)}: its own logits (${relativeError(out.logits, logits).toExponential(2)})`);
  }
});

t.test('digests are remembered; a byte changed in place is seen even with its mtime put back', async (t) => {
  const hashed: HashProgress[] = [];
  const convert = () => convertModel({ modelPath: eightDir, cacheDir, precision: 'fp32', onHashProgress: (p) => hashed.push(p) });
  const info = new SafetensorsCheckpoint(eightDir).info('thinker.audio_tower.layers.1.fc2.weight');
  const MTIME_S = 1_700_000_000;
  fs.utimesSync(info.file, MTIME_S, MTIME_S);
  await convert();
  t.ok(hashed.length > 0, 'a touched file is hashed again');
  hashed.length = 0;
  const before = await convert();
  t.same(hashed, [], 'a second start hashes nothing');
  t.ok(fs.existsSync(path.join(cacheDir, 'weight-digests.encoder.json')) && fs.existsSync(path.join(cacheDir, 'weight-digests.decoder.json')));

  const stat = fs.statSync(info.file);
  const fd = fs.openSync(info.file, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, info.offset + 100);
  byte[0] ^= 1;
  fs.writeSync(fd, byte, 0, 1, info.offset + 100);
  fs.closeSync(fd);
  fs.utimesSync(info.file, MTIME_S, MTIME_S);
  t.same([fs.statSync(info.file).size, fs.statSync(info.file).mtimeMs], [stat.size, stat.mtimeMs], 'same size and mtime');

  const after = await convert();
  t.not(after.encoderPath, before.encoderPath, 'the encoder entry changed');
  t.ok(hashed.length > 0 && hashed.every((p) => p.doneBytes <= p.totalBytes), `${hashed.length} hashing progress reports`);
  t.equal(hashed.at(-1)!.doneBytes, hashed.at(-1)!.totalBytes);
});

t.test('a Hugging Face hub blob is named by its sha256: nothing is read', async (t) => {
  const repo = path.join(seven.dir, '..', 'hub', 'models--Org--Tiny');
  const snapshot = path.join(repo, 'snapshots', '0'.repeat(40));
  fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
  fs.mkdirSync(snapshot, { recursive: true });
  for (const f of fs.readdirSync(seven.dir)) {
    const blob = path.join(repo, 'blobs', crypto.createHash('sha256').update(fs.readFileSync(path.join(seven.dir, f))).digest('hex'));
    fs.copyFileSync(path.join(seven.dir, f), blob);
    fs.symlinkSync(path.relative(snapshot, blob), path.join(snapshot, f));
  }
  const hashed: HashProgress[] = [];
  const hub = await convertModel({ modelPath: snapshot, cacheDir: path.join(seven.dir, '..', 'hub-cache'), precision: 'fp32', onHashProgress: (p) => hashed.push(p) });
  t.same(hashed, [], 'no bytes hashed');
  t.ok(fs.existsSync(hub.decoderPath));
});

t.test('the key covers the code that builds the graph: same code anywhere, same key; changed code, new key', async (t) => {
  const root = path.join(cacheDir, '..', 'sources');
  const folder = (name: string, code: string) => {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'block.js'), code);
    fs.writeFileSync(path.join(dir, 'notes.txt'), name); // only .js files count
    return pathToFileURL(`${dir}/`);
  };
  const key = (source: URL) => graphCacheKey({ part: 'sources-test', recipe: { builder: 1 }, files: [], sources: [source], tensors: [], cacheDir });
  const a = key(folder('a', 'export const x = 1;'));
  t.equal(key(folder('b', 'export const x = 1;')), a, 'the same code installed elsewhere');
  t.not(key(folder('c', 'export const x = 2;')), a, 'one changed line of a builder');
});
