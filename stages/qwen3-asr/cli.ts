// Qwen3-ASR subcommands of `sgl-omni` (loaded through configs/cli-extensions.yaml):
//   make-checkpoint  writes a random-weight checkpoint in the official layout (tests, benchmarks)
//   convert          builds and caches the ONNX graphs ahead of `serve`, so the first start is fast
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { createProgress } from '../../src/util/progress.js';

const SIZES = ['tiny', '0.6b', '1.7b'] as const;
const PRECISIONS = ['fp32', 'int8', 'int4'] as const;

export function seedNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new InvalidArgumentError('expected a whole number from 0 to 2^32 - 1');
  return n;
}

/** A progress callback over a running total: the bar moves by the difference since the last call. */
export function totalProgress(label: string): { update(done: number, total: number): void; stop(): void } {
  const progress = createProgress();
  let started = false;
  let shown = 0;
  return {
    update(done, total) {
      // cli-progress ticks in ones; scale to per-mille so a multi-GB total stays cheap to draw.
      const target = total > 0 ? Math.floor((done / total) * 1000) : 1000;
      if (!started) {
        progress.start(label, 1000);
        started = true;
      }
      for (; shown < target; shown++) progress.tick();
    },
    stop() {
      if (started) progress.stop();
      started = false;
    },
  };
}

export function registerCommands(program: Command): void {
  program
    .command('make-checkpoint')
    .description('write a Qwen3-ASR checkpoint with random weights in the original Hugging Face layout')
    .addOption(new Option('--size <size>', 'model shape: tiny (tests) or the real 0.6b / 1.7b shapes').choices(SIZES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'folder to write (created)')
    .option('--seed <n>', 'seed of the random weights', seedNumber, 0)
    .action(async (flags: { size: (typeof SIZES)[number]; out: string; seed: number }) => {
      const { makeCheckpoint } = await import('./checkpoint/make-checkpoint.js');
      const bar = totalProgress(`make-checkpoint ${flags.size}`);
      try {
        await makeCheckpoint({ size: flags.size, out: path.resolve(flags.out), seed: flags.seed, onProgress: bar.update });
      } finally {
        bar.stop();
      }
      process.stderr.write(`wrote ${flags.size} checkpoint to ${path.resolve(flags.out)}\n`);
    });

  program
    .command('convert')
    .description('build the ONNX graphs of a checkpoint into the cache ahead of serving')
    .requiredOption('--model-path <dir|hub-id>', 'checkpoint folder or Hugging Face model id')
    .addOption(new Option('--precision <p>', 'weight precision of the linear layers').choices(PRECISIONS).default('int8'))
    .option('--cache-dir <dir>', 'folder for converted ONNX graphs (default: ~/.cache/sgl-omni; Hub downloads go to the Hugging Face cache, HF_HUB_CACHE)')
    .action(async (flags: { modelPath: string; precision: (typeof PRECISIONS)[number]; cacheDir?: string }) => {
      const cacheDir = path.resolve(flags.cacheDir ?? path.join(os.homedir(), '.cache', 'sgl-omni'));
      const { resolveModelPath } = await import('../../src/hub/resolve-model.js');
      const { convertModel } = await import('./graph/convert.js');
      const modelPath = await resolveModelPath(flags.modelPath, { logger: pino({ name: 'sgl-omni' }) });
      const bars = new Map<string, ReturnType<typeof totalProgress>>();
      try {
        const out = await convertModel({
          modelPath,
          cacheDir,
          precision: flags.precision,
          onProgress: ({ part, doneElements, totalElements }) => {
            if (!bars.has(part)) {
              for (const bar of bars.values()) bar.stop(); // one part after the other
              bars.set(part, totalProgress(`convert ${part} (${flags.precision})`));
            }
            bars.get(part)!.update(doneElements, totalElements);
          },
        });
        process.stderr.write(`encoder: ${out.encoderPath}\ndecoder: ${out.decoderPath}\n`);
      } finally {
        for (const bar of bars.values()) bar.stop();
      }
    });
}
