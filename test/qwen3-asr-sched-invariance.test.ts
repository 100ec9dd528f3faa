// Batch invariance on the real runners and the tiny checkpoint: a request's
// greedy token ids are the same whether it ran alone, beside 7 others that
// started with it, or while others joined and left mid-decode with chunked
// prefill. (The test runs onnxruntime on the test's own thread, as tests may.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { whisperLogMel } from '../stages/audio/mel.js';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import { createDecoderRunner, createEncoderRunner } from '../stages/qwen3-asr/runner/index.js';
import type { Precision } from '../stages/common/engine/runner.js';
import { BatchScheduler } from '../stages/common/engine/batch-scheduler.js';
import type { SequenceSpec } from '../stages/common/engine/sequence.js';
import { loadAsrText } from '../stages/qwen3-asr/text/index.js';

const REQUESTS = 8;
const NEW_TOKENS = 24;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen3-asr-invariance-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const modelPath = path.join(dir, 'tiny');
await makeCheckpoint({ size: 'tiny', out: modelPath, seed: 7 });
const config = loadQwen3AsrConfig(modelPath);
const { codec } = loadAsrText(modelPath);

/** Eight different clips of 1 to 3.8 s (tones and overtones), as log-mel features. */
const clips = Array.from({ length: REQUESTS }, (_, k) => {
  const samples = Float32Array.from({ length: Math.round(16000 * (1 + k * 0.4)) }, (_, i) => 0.3 * Math.sin(i * (0.05 + 0.01 * k)) + 0.05 * Math.sin(i * 0.31 * (k + 1)));
  return whisperLogMel(samples, 128);
});

for (const precision of ['fp32', 'int8'] as Precision[]) {
  t.test(`${precision}: greedy ids alone = beside 7 others = joining mid-decode`, async (t) => {
    const opts = { modelPath, cacheDir: path.join(dir, 'cache'), precision, device: 'cpu', threads: 1 };
    const encoder = await createEncoderRunner(opts);
    const decoder = await createDecoderRunner({ ...opts, maxSlots: REQUESTS, maxContext: 256 });
    t.teardown(async () => {
      await encoder.dispose();
      await decoder.dispose();
    });
    const audio = await encoder.encode(clips);
    const specs: SequenceSpec[] = audio.map((a) => ({
      promptIds: codec.promptIds('', a.length / encoder.outputDim, undefined),
      embeds: a,
      maxNewTokens: NEW_TOKENS,
      temperature: 0,
      seed: 1,
    }));
    // A 16-token prefill budget spreads every prompt over several turns, between decode steps.
    const scheduler = new BatchScheduler(decoder, { eosIds: config.eosTokenIds, embedTokenId: config.audioTokenId, prefillChunkTokens: 16 });

    const alone: number[][] = [];
    for (const spec of specs) alone.push((await scheduler.submit(spec).result).tokens);
    t.ok(alone.every((ids) => ids.length > 0));
    t.ok(new Set(alone.map((ids) => ids.join())).size > 1, 'different audio, different outputs');

    const together = await Promise.all(specs.map((spec) => scheduler.submit(spec).result));
    t.same(together.map((o) => o.tokens), alone, 'all 8 started together');

    // Each request joins once the previous one has produced 3 tokens, so the batch grows and shrinks.
    const staggered: Promise<number[]>[] = [];
    for (const spec of specs) {
      let seen = 0;
      let joinNext!: () => void;
      const next = new Promise<void>((resolve) => (joinNext = resolve));
      staggered.push(scheduler.submit({ ...spec, onToken: () => ++seen === 3 && joinNext() }).result.then((o) => o.tokens));
      await Promise.race([next, staggered.at(-1)]);
    }
    t.same(await Promise.all(staggered), alone, 'joining and leaving mid-decode');
    t.ok(scheduler.stats().decodeSteps > 0);
  });
}
