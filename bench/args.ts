// Command-line parsing shared by the bench/ scripts: node:util's parseArgs plus
// the two things every script needs and parseArgs leaves out. --help (or -h)
// prints the usage and exits 0 before any work starts (a dataset build or an
// hour of load must not begin because someone asked how to run it); a bad
// flag prints its error and the usage, exit 2, instead of a stack trace. Also
// the cache folder every bench writes to (outside the repository).
import os from 'node:os';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const EXIT_USAGE = 2;

export function parseScriptArgs<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const withHelp = { ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } } as T;
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(withHelp);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    process.exit(EXIT_USAGE);
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return parsed;
}

/**
 * Where benches keep generated checkpoints and converted graphs: outside the repository (a 0.6B
 * checkpoint plus its graphs in three precisions is ~8 GB, and a run once left 7.9 GB in ./.cache).
 * --cache-dir wins, then SGL_OMNI_BENCH_CACHE, then $XDG_CACHE_HOME/sgl-omni/bench (~/.cache/...).
 * Each bench prints the folder it uses.
 */
export function benchCacheDir(flag?: string): string {
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.resolve(flag ?? process.env.SGL_OMNI_BENCH_CACHE ?? path.join(base, 'sgl-omni', 'bench'));
}
