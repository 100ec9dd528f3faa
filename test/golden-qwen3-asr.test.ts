// The project's own code path against golden tensors of the official Qwen3-ASR
// forward (test/fixtures/golden/*: qwen3-asr-tiny, recomputed from qwen-asr and
// transformers for a tiny original-layout checkpoint; qwen3-asr-tiny-hf, written
// by tools/golden/make_golden.py with transformers' Qwen3ASRProcessor and
// Qwen3ASRForConditionalGeneration for a make-checkpoint checkpoint in the -hf
// layout, on an espeak-ng clip and the 11 s jfk.wav, which crosses the encoder's
// 8 s attention window). At fp32 within the manifest's tolerances: the log-mel
// from WAV bytes, the prompt ids of each prompt, the encoder output (each clip
// alone and all in one batch), prefill logits and the greedy ids, on the runners
// directly, through the batch scheduler beside other sequences, and through the
// whole pipeline. int8 and int4 within loose bounds (bench/quant-error.ts reports them),
// with the blockwise kernel (MatMulNBits), the per-channel int8 kernel
// (MatMulInteger, activations per row) everywhere, and per-channel for encoder and prefill
// with blockwise decode steps (two decoder sessions).
import fs from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { seededValues } from '../stages/qwen3-asr/reference/fixture.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { runGolden } from '../stages/qwen3-asr/reference/golden-run.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';

const goldenRoot = path.join(repoRoot(), 'test/fixtures/golden');
const sets = fs.readdirSync(goldenRoot).filter((n) => fs.existsSync(path.join(goldenRoot, n, 'manifest.json'))).sort();
const tmp = path.join(repoRoot(), 'test/.tmp/golden-qwen3-asr');
fs.rmSync(tmp, { recursive: true, force: true });
/** Loose bounds on prefill-logit and encoder relative error (measured: bench/quant-error.ts). */
const QUANTISED = { int8: { logits: 0.1, encoder: 0.05 }, int4: { logits: 0.6, encoder: 0.3 } } as const;

t.same(sets, ['qwen3-asr-tiny', 'qwen3-asr-tiny-hf'], 'both golden sets are present');

for (const name of sets) {
  const golden = new GoldenSet(path.join(goldenRoot, name));
  const { tolerances: tol, steps } = golden.manifest;
  const modelPath = golden.checkpoint;
  const cacheDir = path.join(tmp, name, 'cache');
  const run = await runGolden(golden, { precision: 'fp32', cacheDir });
  const { text, cases } = run;
  const label = (c: { input: string; prompt: string }) => `${c.input} ${c.prompt}`;

  t.test(`${name}: log-mel from the WAV bytes, prompt ids`, async (t) => {
    for (const [input, err] of run.melError) t.ok(err <= tol.mel.max_abs, `${input}: mel max |Δ| ${err.toExponential(2)} ≤ ${tol.mel.max_abs}`);
    for (const c of cases) {
      const ids = text.codec.promptIds(c.context, golden.manifest.inputs[c.input].audio_tokens, c.language);
      t.same(Array.from(ids), golden.ids(`${c.input}.${c.prompt}.prompt_ids`), `${label(c)}: prompt ids`);
    }
  });

  t.test(`${name}: fp32 runners — encoder alone and batched, prefill logits, greedy ids`, async (t) => {
    for (const [input, e] of run.encoderError) {
      t.ok(e.alone <= tol.encoder_fp32.max_rel, `${input} alone: encoder ${e.alone.toExponential(2)} ≤ ${tol.encoder_fp32.max_rel}`);
      t.ok(e.batched <= tol.encoder_fp32.max_rel, `${input} in a batch: encoder ${e.batched.toExponential(2)} ≤ ${tol.encoder_fp32.max_rel}`);
    }
    for (const d of run.decoded) {
      t.ok(d.logitsError <= tol.logits_fp32.max_rel, `${label(d.c)}: prefill logits ${d.logitsError.toExponential(2)} ≤ ${tol.logits_fp32.max_rel}`);
      t.same(d.greedy, d.expected, `${label(d.c)}: ${steps} greedy ids`);
    }
  });

  t.test(`${name}: the batch scheduler gives the greedy ids with other sequences in flight`, async (t) => {
    const opts = { modelPath, cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
    const encoder = await createEncoderRunner(opts);
    const decoder = await createDecoderRunner({ ...opts, maxSlots: 4, maxContext: 512 });
    t.teardown(async () => { await encoder.dispose(); await decoder.dispose(); });
    const audio = await encoder.encode([...run.mels.values()]);
    // 16 prompt tokens per turn: every prompt is prefilled over several turns between decode steps;
    // 4 slots for more sequences than that, so sequences wait, join and leave mid-decode.
    const scheduler = new BatchScheduler(decoder, { eosIds: text.eosIds, embedTokenId: text.audioTokenId, prefillChunkTokens: 16 });
    const noise = seededValues(20 * encoder.outputDim, 5, 0.5);
    const distractors = [3, 9].map((len) => scheduler.submit({
      promptIds: text.codec.promptIds('', 20, undefined).map((id, i) => (i > len && id !== text.audioTokenId ? (id * 7 + len) % text.audioTokenId : id)),
      embeds: noise, maxNewTokens: 8 + len, temperature: 0.8, seed: len,
    }).result);
    const outputs = await Promise.all(cases.map((c) => {
      const a = audio[golden.inputs.indexOf(c.input)];
      return scheduler.submit({ promptIds: text.codec.promptIds(c.context, a.length / encoder.outputDim, c.language), embeds: a, maxNewTokens: steps, temperature: 0, seed: 1 }).result;
    }));
    await Promise.all(distractors);
    for (const [i, c] of cases.entries()) t.same(outputs[i].tokens, golden.greedyBeforeEos(c.input, c.prompt), label(c));
    t.ok(scheduler.stats().decodeRows > scheduler.stats().decodeSteps, 'decode steps carried several sequences');
  });

  /** Every case through the pipeline from WAV bytes with these stage options; each case's one segment's tokens. */
  async function pipelineTokens(t: Test, options: Record<string, string>): Promise<number[][]> {
    const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
      overrides: [
        ['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'], ['stages.decoder.options.max_context', '512'],
        ...Object.entries(options).map(([k, v]): [string, string] => [`stages.${k}`, v]),
      ],
    });
    const pipeline = createPipeline(resolved, { modelPath, cacheDir });
    t.teardown(() => pipeline.close());
    await pipeline.ready();
    const outputs = await Promise.all(cases.map((c) => {
      const params = { temperature: 0, stream: false, response_format: 'json', max_new_tokens: steps, ...(c.context ? { prompt: c.context } : {}), ...(c.language ? { language: c.language } : {}) };
      return pipeline.submit({ audio: run.wavBytes.get(c.input)!.slice().buffer, filename: `${c.input}.wav`, contentType: 'audio/wav', params });
    }));
    return outputs.map((o, i) => {
      const segments = o.segments as { tokens: number[] }[];
      t.equal(segments.length, 1, `${cases[i].input}: one segment`);
      return segments[0].tokens;
    });
  }
  const beforeEos = (ids: number[]) => { const e = ids.findIndex((id) => text.eosIds.includes(id)); return e < 0 ? ids : ids.slice(0, e); };

  t.test(`${name}: the pipeline from WAV bytes gives the greedy ids`, async (t) => {
    const tokens = await pipelineTokens(t, { 'encoder.options.precision': 'fp32', 'decoder.options.precision': 'fp32' });
    for (const [i, c] of cases.entries()) t.same(tokens[i], golden.greedyBeforeEos(c.input, c.prompt), label(c));
  });

  // [what, precision, kernels, bounds]: per-channel weights are int8 whatever the precision, so
  // an int4 run with per-channel encoder and prefill is held to int8's encoder and logit bounds.
  const variants = [
    ['int8', 'int8', undefined, QUANTISED.int8], ['int4', 'int4', undefined, QUANTISED.int4],
    ['int8 per-channel', 'int8', { encoder: 'per-channel', prefill: 'per-channel', decode: 'per-channel' }, QUANTISED.int8],
    ['int4 with per-channel encoder and prefill', 'int4', { encoder: 'per-channel', prefill: 'per-channel' }, QUANTISED.int8],
  ] as const;
  for (const [what, precision, kernels, bound] of variants) {
    t.test(`${name}: ${what} stays within loose bounds of the golden set`, async (t) => {
      const q = await runGolden(golden, { precision, cacheDir, kernels });
      for (const [input, e] of q.encoderError) t.ok(Math.max(e.alone, e.batched) < bound.encoder, `${input}: encoder ${e.alone.toExponential(2)} < ${bound.encoder}`);
      for (const d of q.decoded) t.ok(d.logitsError < bound.logits && d.logitsError > 0, `${label(d.c)}: prefill logits ${d.logitsError.toExponential(2)} < ${bound.logits}`);
      if (!kernels) return;
      // The stage options reach the runners: the pipeline, configured by them, decodes as the runners did.
      const options: Record<string, string> = {
        'encoder.options.precision': precision, 'decoder.options.precision': precision, 'encoder.options.int8_kernel': kernels.encoder,
        'decoder.options.int8_kernel': 'decode' in kernels ? kernels.decode : 'blockwise', 'decoder.options.prefill_int8_kernel': kernels.prefill,
      };
      const tokens = await pipelineTokens(t, options);
      for (const [i, d] of q.decoded.entries()) t.same(tokens[i], beforeEos(d.greedy), `${label(d.c)}: pipeline with ${JSON.stringify(kernels)} = runners`);
    });
  }
}
