// Conversion cache (atomic, keyed, fast second start), progress reporting, and
// device / precision checks of the runner factories.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { StageEnv } from '../src/runtime/contracts.js';
import { SafetensorsCheckpoint, writeSafetensors } from '../stages/common/weights/safetensors.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import type { ConvertProgress } from '../stages/common/graph/cache.js';
import { convertModel } from '../stages/qwen3-asr/graph/convert.js';
import { relativeError } from '../stages/common/reference/golden-dir.js';
import { seededValues, tinyModel } from '../stages/qwen3-asr/reference/fixture.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { CUDA_INSTALL_HINT } from '../stages/common/onnx/session.js';
import { runnerOptions } from '../stages/common/engine/runner-options.js';

const model = await tinyModel('qwen3-asr-graph-convert');

t.test('convert builds both graphs once, reports progress, and reuses the cache', async (t) => {
  const events: ConvertProgress[] = [];
  const first = await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'int4', onProgress: (p) => events.push(p) });
  for (const part of ['encoder', 'decoder'] as const) {
    const mine = events.filter((e) => e.part === part);
    t.ok(mine.length > 5, `${part}: ${mine.length} progress events`);
    t.ok(mine.every((e, i) => i === 0 || e.doneElements >= mine[i - 1].doneElements), `${part}: progress never goes back`);
    t.equal(mine.at(-1)!.doneElements, mine.at(-1)!.totalElements, `${part}: progress ends at the total`);
  }
  for (const file of [first.encoderPath, first.decoderPath]) t.ok(fs.statSync(file).size > 0 && fs.existsSync(file.replace(/model\.onnx$/, 'weights.bin')));
  const mtime = fs.statSync(first.decoderPath).mtimeMs;

  const again: ConvertProgress[] = [];
  const second = await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'int4', onProgress: (p) => again.push(p) });
  t.same(second, first, 'same files');
  t.equal(again.length, 0, 'nothing rebuilt');
  t.equal(fs.statSync(first.decoderPath).mtimeMs, mtime);

  const fp32 = await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'fp32' });
  t.not(fp32.decoderPath, first.decoderPath, 'the precision is part of the key');
  t.same(fs.readdirSync(model.cacheDir).filter((n) => n.includes('.tmp-')), [], 'no temporary folders left');
});

t.test("a model stage logs a conversion's start and every tenth of it, nothing when cached", async (t) => {
  const lines: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
  const env = { modelPath: model.dir, cacheDir: model.cacheDir, device: 'cpu', threads: 1, log: (_level: string, msg: string, fields?: Record<string, unknown>) => lines.push({ msg, fields }) };
  const opts = runnerOptions(env as unknown as StageEnv, 'int8');
  await convertModel(opts);
  for (const part of ['encoder', 'decoder']) {
    const mine = lines.filter((l) => l.fields?.part === part);
    t.match(mine[0].msg, new RegExp(`^converting the checkpoint's ${part} to an ONNX graph \\(int8\\)`));
    const percents = mine.slice(1).map((l) => l.fields!.percent as number);
    t.equal(percents.at(-1), 100, `${part}: ends at 100%`);
    t.ok(percents.every((p, i) => p % 10 === 0 && (i === 0 || p > percents[i - 1])), `${part}: steps of 10% that only go up (${percents.join(' ')})`);
  }
  lines.length = 0;
  await convertModel(runnerOptions(env as unknown as StageEnv, 'int8'));
  t.same(lines, [], 'a cached graph is not announced');
});

t.test("a build folder left by a process that is gone is removed; a live process's is not", async (t) => {
  const cacheDir = path.join(model.cacheDir, '..', 'cache-abandoned');
  const entry = path.dirname((await convertModel({ modelPath: model.dir, cacheDir, precision: 'fp32' })).decoderPath);
  const dead = `${entry}.tmp-4194305-0badf00d`; // above Linux's largest pid: no such process
  const live = `${entry}.tmp-${process.pid}-0000cafe`;
  for (const folder of [dead, live]) {
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'weights.bin'), 'partial');
  }
  fs.rmSync(entry, { recursive: true });
  await convertModel({ modelPath: model.dir, cacheDir, precision: 'fp32' });
  t.ok(fs.existsSync(path.join(entry, 'model.onnx')), 'rebuilt');
  t.notOk(fs.existsSync(dead), 'the abandoned build is gone');
  t.ok(fs.existsSync(live), 'a build of a running process is left alone');
});

t.test('a changed checkpoint gets a new cache entry', async (t) => {
  const before = await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'fp32' });
  const cfgFile = `${model.dir}/config.json`;
  const original = fs.readFileSync(cfgFile, 'utf8');
  t.teardown(() => fs.writeFileSync(cfgFile, original));
  fs.writeFileSync(cfgFile, original.replace('"rope_theta": 1000000', '"rope_theta": 10000'));
  const after = await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'fp32' });
  t.not(after.decoderPath, before.decoderPath);
});

t.test('the transformers "-hf" layout of the same weights gives the same outputs', async (t) => {
  const hfDir = path.join(model.dir, '..', 'checkpoint-hf');
  const original = JSON.parse(fs.readFileSync(path.join(model.dir, 'config.json'), 'utf8'));
  const { thinker_config: thinker, ...top } = original;
  fs.mkdirSync(hfDir, { recursive: true });
  fs.writeFileSync(path.join(hfDir, 'config.json'), JSON.stringify({ ...top, ...thinker }));
  const rename = loadQwen3AsrConfig(hfDir).tensorName;
  const ckpt = new SafetensorsCheckpoint(model.dir);
  writeSafetensors(path.join(hfDir, 'model.safetensors'), [...ckpt.tensors.values()].map((info) => ({
    name: rename(info.name), dtype: info.dtype, shape: info.shape, data: ckpt.raw(info.name),
  })));
  t.ok(ckpt.has('thinker.audio_tower.proj1.weight') && new SafetensorsCheckpoint(hfDir).has('model.multi_modal_projector.linear_1.weight'), 'tensors renamed');

  const run = async (dir: string) => {
    const base = { modelPath: dir, cacheDir: model.cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
    const enc = await createEncoderRunner(base);
    const dec = await createDecoderRunner({ ...base, maxSlots: 1, maxContext: 32 });
    const audio = (await enc.encode([{ frames: 120, mel: seededValues(128 * 120, 4) }]))[0];
    const A = model.decoder.audioTokenId;
    const logits = await dec.prefill(0, Int32Array.from([1, 2, ...new Array(audio.length / model.decoder.hidden).fill(A), 3]), audio);
    await Promise.all([enc.dispose(), dec.dispose()]);
    return { audio, logits };
  };
  const a = await run(model.dir);
  const b = await run(hfDir);
  t.equal(relativeError(b.audio, a.audio), 0, 'encoder outputs identical');
  t.equal(relativeError(b.logits, a.logits), 0, 'logits identical');
});

t.test('devices and precisions the runtime cannot serve are refused clearly', async (t) => {
  const base = { modelPath: model.dir, cacheDir: model.cacheDir, threads: 1 };
  await t.rejects(createEncoderRunner({ ...base, precision: 'fp16', device: 'cpu' }), { code: 'ERR_DEVICE', message: /fp16 needs a CUDA device/ });
  await t.rejects(createDecoderRunner({ ...base, precision: 'fp32', device: 'tpu', maxSlots: 1, maxContext: 8 }), { code: 'ERR_DEVICE', message: /unknown device "tpu"/ });
  await t.rejects(createDecoderRunner({ ...base, precision: 'fp32', device: 'cpu', maxSlots: 0, maxContext: 8 }), RangeError);
  // This machine's onnxruntime-node has no CUDA provider libraries (package.json's allowScripts skips their download).
  await t.rejects(createEncoderRunner({ ...base, precision: 'fp32', device: 'cuda:0' }), { code: 'ERR_DEVICE', message: CUDA_INSTALL_HINT.slice(0, 60) });
});
