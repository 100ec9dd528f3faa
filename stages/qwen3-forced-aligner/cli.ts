// Qwen3-ForcedAligner subcommand of `sgl-omni` (through this folder's sgl-omni.yaml):
//   make-aligner-checkpoint  writes a random-weight aligner checkpoint in the official original
//                            layout (tests, benchmarks: the real 0.6B shape costs what trained weights do)
import path from 'node:path';
import { Command, Option } from 'commander';
import { seedNumber, totalProgress } from '../qwen3-asr/cli.js';

const SIZES = ['tiny', '0.6b'] as const;

export function registerCommands(program: Command): void {
  program
    .command('make-aligner-checkpoint')
    .description('write a Qwen3-ForcedAligner checkpoint with random weights in the original Hugging Face layout')
    .addOption(new Option('--size <size>', 'model shape: tiny (tests) or the real 0.6b shape').choices(SIZES).makeOptionMandatory())
    .requiredOption('--out <dir>', 'folder to write (created)')
    .option('--seed <n>', 'seed of the random weights', seedNumber, 0)
    .action(async (flags: { size: (typeof SIZES)[number]; out: string; seed: number }) => {
      const { makeAlignerCheckpoint } = await import('./checkpoint/make-checkpoint.js');
      const bar = totalProgress(`make-aligner-checkpoint ${flags.size}`);
      try {
        await makeAlignerCheckpoint({ size: flags.size, out: path.resolve(flags.out), seed: flags.seed, onProgress: bar.update });
      } finally {
        bar.stop();
      }
      process.stderr.write(`wrote ${flags.size} aligner checkpoint to ${path.resolve(flags.out)}\n`);
    });
}
