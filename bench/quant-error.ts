// Errors of each precision against the golden sets of the official forward
// (test/fixtures/golden/*), through the project's own path (WAV → mel →
// encoder → prompt → prefill → greedy): encoder output and prefill logits as
// max |a - b| / max |golden| (worst and median over clips / prompts), and how
// many of the greedy runs keep every golden id (with the mean first step that
// differs among those that do not). The golden test asserts fp32 within the
// manifests' tolerances and int8 / int4 within loose bounds; this reports them,
// for each int8 kernel too (int8+pc: per-channel MatMulInteger everywhere;
// int4+pc-prefill: per-channel encoder and prefill, blockwise decode steps).
// A +kv16 precision (float16 KV cache) also gets its decode-step cost: every
// case prefilled from the set's prompt ids and encoder output, teacher-forced
// through the golden greedy ids, each step's logits against the same weights
// with a float32 cache (max relative error, argmax agreement) — prefill logits
// cannot show it, a prompt never reads the stored cache.
// A +gqa precision runs the in-place cache (GroupQueryAttention) through the same columns.
// Usage: node dist/bench/quant-error.js [--precisions fp32,int8,int4,int8+pc,int4+pc-prefill,fp32+kv16,int4+kv16,fp32+gqa,int4+gqa]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../src/util/paths.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { runGolden } from '../stages/qwen3-asr/reference/golden-run.js';
import { parseVariant, type Variant } from './args.js';
import type { Precision } from '../stages/common/engine/runner.js';
import type { KvCacheType } from '../stages/common/graph/attention.js';
import { decoderAgreement } from '../stages/common/reference/decoder-agreement.js';
import { createDecoderRunner } from '../stages/qwen3-asr/runner/index.js';

const { values } = parseArgs({ options: { precisions: { type: 'string', default: 'fp32,int8,int4,int8+pc,int4+pc-prefill,fp32+kv16,int4+kv16,fp32+gqa,int4+gqa' } } });
const variants = values.precisions!.split(',').map(parseVariant);
const root = path.join(repoRoot(), 'test/fixtures/golden');
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'quant-error-'));
const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const e = (x: number) => x.toExponential(1).padStart(8);

/** Decode-step logits of a float16 cache against a float32 one (same weights), over every golden case. */
async function kvCacheCost(golden: GoldenSet, precision: Precision, kernels: Variant['kernels']): Promise<string> {
  const open = (kvCache: KvCacheType) => createDecoderRunner({ modelPath: golden.checkpoint, cacheDir, precision, device: 'cpu', threads: 1, maxSlots: 1, maxContext: 512, quantKernel: kernels.decode, prefillQuantKernel: kernels.prefill, kvCache });
  const [full, half] = [await open('float32'), await open('float16')];
  try {
    const errors: number[] = [];
    let agree = 0;
    let steps = 0;
    for (const input of golden.inputs) {
      for (const prompt of golden.prompts) {
        const forced = golden.ids(`${input}.${prompt}.greedy`).slice(0, -1);
        const a = await decoderAgreement(full, half, Int32Array.from(golden.ids(`${input}.${prompt}.prompt_ids`)), golden.floats(`${input}.enc`), forced);
        errors.push(a.maxRelError);
        agree += a.top1Agree;
        steps += a.steps;
      }
    }
    return `max |Δ|/max|ref| ${e(Math.max(...errors)).trim()} / median ${e(median(errors)).trim()} over cases, top-1 ${agree}/${steps} steps`;
  } finally {
    await full.dispose();
    await half.dispose();
  }
}

try {
  console.log('set                 precision         encoder max / median    logits max / median   greedy all ids   first diff step');
  for (const name of fs.readdirSync(root).filter((n) => fs.existsSync(path.join(root, n, 'manifest.json'))).sort()) {
    const golden = new GoldenSet(path.join(root, name));
    for (const { label: precision, precision: p, kernels, kvCache, kvInPlace } of variants) {
      const run = await runGolden(golden, { precision: p, cacheDir, kernels, kvCache, kvInPlace });
      const enc = [...run.encoderError.values()].flatMap((x) => [x.alone, x.batched]);
      const logits = run.decoded.map((d) => d.logitsError);
      const firstDiff = run.decoded.map((d) => d.greedy.findIndex((id, i) => id !== d.expected[i])).filter((i) => i >= 0);
      const same = run.decoded.length - firstDiff.length;
      const meanDiff = firstDiff.length ? (firstDiff.reduce((a, b) => a + b, 0) / firstDiff.length).toFixed(1) : '-';
      console.log(`${name.padEnd(19)} ${precision.padEnd(16)}  ${e(Math.max(...enc))} / ${e(median(enc))}    ${e(Math.max(...logits))} / ${e(median(logits))}    ${`${same}/${run.decoded.length}`.padStart(8)}        ${meanDiff.padStart(6)}`);
      if (kvCache === 'float16') console.log(`${''.padEnd(36)}float16 cache vs float32, forced steps: ${await kvCacheCost(golden, p, kernels)}`);
    }
  }
} finally {
  fs.rmSync(cacheDir, { recursive: true, force: true });
}
