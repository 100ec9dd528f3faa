// Dotted overrides from the command line: `--stages.decoder.workers 2` or
// `--stages.decoder.workers=2`. Only dotted flags are overrides, so a mistyped
// plain flag is still reported as unknown.
import type { Override } from './document.js';

export class OverrideArgsError extends Error {}

/** Splits leftover CLI arguments into dotted overrides and plain operands. */
export function parseOverrideArgs(args: string[]): { overrides: Override[]; operands: string[] } {
  const overrides: Override[] = [];
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('-')) {
      operands.push(arg);
      continue;
    }
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!match || !match[1].includes('.')) throw new OverrideArgsError(`unknown option '${arg}' (config overrides look like --stages.decoder.workers 2)`);
    const [, path, inline] = match;
    if (inline !== undefined) {
      overrides.push([path, inline]);
    } else if (i + 1 < args.length && !args[i + 1].startsWith('--')) {
      overrides.push([path, args[++i]]);
    } else {
      throw new OverrideArgsError(`override --${path} needs a value`);
    }
  }
  return { overrides, operands };
}
