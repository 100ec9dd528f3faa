// Command-line parsing shared by the bench/ scripts: node:util's parseArgs plus
// the two things every script needs and parseArgs leaves out. --help (or -h)
// prints the usage and exits 0 before any work starts (a dataset build or an
// hour of load must not begin because someone asked how to run it); a bad
// flag prints its error and the usage, exit 2, instead of a stack trace.
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
