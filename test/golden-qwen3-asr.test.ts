// The project's own fp32 code path against golden tensors of the official
// Qwen3-ASR forward (test/fixtures/golden/*: the tiny set recomputed from
// qwen-asr and transformers, and an independent set written by
// tools/golden/make_golden.py with transformers' Qwen3ASRForConditionalGeneration).
// Within the manifest's tolerances: the log-mel from the waveform, the prompt
// ids of each prompt, the encoder output (each clip alone and all in one batch),
// prefill logits and the greedy ids — on the runners directly, through the batch
// scheduler beside other sequences, and through the whole pipeline from WAV bytes.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import { relativeError, argmax, seededValues } from '../stages/qwen3-asr/reference/fixture.js';
import { GoldenSet } from '../stages/qwen3-asr/reference/golden.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import { BatchScheduler } from '../stages/qwen3-asr/scheduler/batch-scheduler.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';
import { buildWav } from './fixtures/audio/wav-writer.js';

const MAX_CONTEXT = 512;
const goldenRoot = path.join(repoRoot(), 'test/fixtures/golden');
const sets = fs.readdirSync(goldenRoot).filter((n) => fs.existsSync(path.join(goldenRoot, n, 'manifest.json'))).sort();
const tmp = path.join(repoRoot(), 'test/.tmp/golden-qwen3-asr');
fs.rmSync(tmp, { recursive: true, force: true });

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

t.ok(sets.length >= 1, `golden sets: ${sets.join(', ')}`);

for (const name of sets) {
  const golden = new GoldenSet(path.join(goldenRoot, name));
  const { tolerances: tol, steps } = golden.manifest;
  const modelPath = golden.checkpoint;
  const cacheDir = path.join(tmp, name, 'cache');
  const text = loadAsrText(modelPath);
  const config = loadQwen3AsrConfig(modelPath);
  const cases = golden.inputs.flatMap((input) => golden.prompts.map((prompt) => ({ input, prompt, ...golden.manifest.prompts[prompt] })));
  const mels = new Map(golden.inputs.map((input) => [input, whisperLogMel(golden.floats(`${input}.wave`), config.audio.numMelBins)]));
  const promptOf = (c: (typeof cases)[number], audioTokens: number) => text.codec.promptIds(c.context, audioTokens, c.language ?? undefined);

  t.test(`${name}: log-mel from the waveform`, async (t) => {
    for (const [input, mel] of mels) {
      const err = maxAbs(mel.mel, golden.floats(`${input}.mel`));
      t.ok(err <= tol.mel.max_abs, `${input}: max |Δ| ${err.toExponential(2)} ≤ ${tol.mel.max_abs}`);
    }
  });

  t.test(`${name}: prompt ids`, async (t) => {
    for (const c of cases) t.same(Array.from(promptOf(c, golden.manifest.inputs[c.input].audio_tokens)), golden.ids(`${c.input}.${c.prompt}.prompt_ids`), `${c.input} ${c.prompt}`);
  });

  t.test(`${name}: fp32 runners — encoder alone and batched, prefill logits, greedy ids`, async (t) => {
    const opts = { modelPath, cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
    const encoder = await createEncoderRunner(opts);
    const decoder = await createDecoderRunner({ ...opts, maxSlots: 1, maxContext: MAX_CONTEXT });
    t.teardown(async () => { await encoder.dispose(); await decoder.dispose(); });
    const batched = await encoder.encode([...mels.values()]);
    for (const [i, [input, mel]] of [...mels].entries()) {
      const [alone] = await encoder.encode([mel]);
      const expected = golden.floats(`${input}.enc`);
      for (const [how, got] of [['alone', alone], ['in a batch', batched[i]]] as const) {
        const err = relativeError(got, expected);
        t.ok(err <= tol.encoder_fp32.max_rel, `${input} ${how}: encoder ${err.toExponential(2)} ≤ ${tol.encoder_fp32.max_rel}`);
      }
    }
    for (const c of cases) {
      const audio = batched[golden.inputs.indexOf(c.input)];
      let logits = await decoder.prefill(0, promptOf(c, audio.length / encoder.outputDim), audio);
      const err = relativeError(logits, golden.floats(`${c.input}.${c.prompt}.logits`));
      t.ok(err <= tol.logits_fp32.max_rel, `${c.input} ${c.prompt}: prefill logits ${err.toExponential(2)} ≤ ${tol.logits_fp32.max_rel}`);
      const ids: number[] = [];
      for (let s = 0; s < steps; s++) {
        ids.push(argmax(logits));
        if (s + 1 < steps) logits = await decoder.decode([0], Int32Array.of(ids[s]));
      }
      t.same(ids, golden.ids(`${c.input}.${c.prompt}.greedy`), `${c.input} ${c.prompt}: ${steps} greedy ids`);
      decoder.release(0);
    }
  });

  t.test(`${name}: the batch scheduler gives the greedy ids with other sequences in flight`, async (t) => {
    const opts = { modelPath, cacheDir, precision: 'fp32' as const, device: 'cpu', threads: 1 };
    const encoder = await createEncoderRunner(opts);
    const decoder = await createDecoderRunner({ ...opts, maxSlots: 4, maxContext: MAX_CONTEXT });
    t.teardown(async () => { await encoder.dispose(); await decoder.dispose(); });
    const audio = await encoder.encode([...mels.values()]);
    // 16 prompt tokens per turn: every prompt is prefilled over several turns between decode steps;
    // 4 slots for more sequences than that, so sequences wait, join and leave mid-decode.
    const scheduler = new BatchScheduler(decoder, { eosIds: text.eosIds, audioTokenId: text.audioTokenId, prefillChunkTokens: 16 });
    const noise = seededValues(20 * encoder.outputDim, 5, 0.5);
    const distractors = [3, 9].map((len) => scheduler.submit({
      promptIds: promptOf(cases[0], 20).map((id, i) => (i > len && id !== text.audioTokenId ? (id * 7 + len) % text.audioTokenId : id)),
      audio: noise, maxNewTokens: 8 + len, temperature: 0.8, seed: len,
    }).result);
    const outputs = await Promise.all(cases.map((c) => {
      const a = audio[golden.inputs.indexOf(c.input)];
      return scheduler.submit({ promptIds: promptOf(c, a.length / encoder.outputDim), audio: a, maxNewTokens: steps, temperature: 0, seed: 1 }).result;
    }));
    await Promise.all(distractors);
    for (const [i, c] of cases.entries()) t.same(outputs[i].tokens, golden.greedyBeforeEos(c.input, c.prompt), `${c.input} ${c.prompt}`);
    t.ok(scheduler.stats().decodeRows > scheduler.stats().decodeSteps, 'decode steps carried several sequences');
  });

  t.test(`${name}: the pipeline from float WAV bytes gives the greedy ids`, async (t) => {
    const resolved = await loadPipelineConfig(path.join(repoRoot(), 'pipelines/qwen3-asr.yaml'), {
      overrides: [
        ['stages.encoder.threads', '1'], ['stages.decoder.threads', '1'],
        ['stages.encoder.options.precision', 'fp32'], ['stages.decoder.options.precision', 'fp32'],
        ['stages.decoder.options.max_context', String(MAX_CONTEXT)],
      ],
    });
    const pipeline = createPipeline(resolved, { modelPath, cacheDir });
    t.teardown(() => pipeline.close());
    await pipeline.ready();
    const outputs = await Promise.all(cases.map((c) => {
      const wave = golden.floats(`${c.input}.wave`);
      const bytes = buildWav({ formatTag: 3, bits: 32, channels: 1, sampleRate: 16000, data: new Uint8Array(wave.buffer, wave.byteOffset, wave.byteLength) });
      const params = { temperature: 0, stream: false, response_format: 'json', max_new_tokens: steps, ...(c.context ? { prompt: c.context } : {}), ...(c.language ? { language: c.language } : {}) };
      return pipeline.submit({ audio: bytes.slice().buffer, filename: `${c.input}.wav`, contentType: 'audio/wav', params });
    }));
    for (const [i, c] of cases.entries()) {
      const segments = outputs[i].segments as { tokens: number[] }[];
      t.equal(segments.length, 1, `${c.input}: one segment`);
      t.same(segments[0].tokens, golden.greedyBeforeEos(c.input, c.prompt), `${c.input} ${c.prompt}`);
    }
  });
}
