// The command-line flags of this process that stage workers are started with. Node refuses V8
// and process-wide flags in a Worker's execArgv (ERR_WORKER_INVALID_EXEC_ARGV, thrown by the
// Worker constructor): `node --max-old-space-size=4096 bin/sgl-omni.js serve` (also
// --expose-gc, --stack-trace-limit) crashed the server as its first stage started. Those flags
// are set for the whole process, so the workers' isolates run under them without being told.
// Loader flags are dropped too: a stage module is plain JavaScript, and a loader (tsx, a test
// runner's hooks) registered again in every worker costs its start-up there; and so is the code
// of `node -e`/`-p`, which every worker would run again (a pipeline built from -e started
// pipelines in its workers, without end).
// Which flags a worker takes is asked of Node itself, once per flag: the rules differ between
// Node versions, and a list kept here would fall behind them.
import { Worker } from 'node:worker_threads';

const DROPPED = ['--import', '--loader', '--experimental-loader', '--require', '-r', '--eval', '-e', '--print', '-p'];

let cached: string[] | undefined;

/** process.execArgv less loader and eval flags and flags a Worker refuses (a flag's separate value goes with it). */
export function workerExecArgv(): string[] {
  cached ??= groups(process.execArgv)
    .filter((group) => !DROPPED.some((dropped) => group[0] === dropped || group[0].startsWith(`${dropped}=`)) && workerTakes(group))
    .flat();
  return cached;
}

/** Flags with the values that follow them as separate arguments (`--conditions x`). */
function groups(args: string[]): string[][] {
  const out: string[][] = [];
  for (const arg of args) {
    if (arg.startsWith('-') || out.length === 0) out.push([arg]);
    else out[out.length - 1].push(arg);
  }
  return out;
}

function workerTakes(group: string[]): boolean {
  try {
    void new Worker('', { eval: true, execArgv: group }).terminate();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_WORKER_INVALID_EXEC_ARGV') return false;
    throw err;
  }
}
