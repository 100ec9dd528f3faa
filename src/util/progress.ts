// Progress of long command-line work (eval levels, conversions, checkpoint
// writing): a cli-progress bar on a terminal, plain lines
// every tenth of the way otherwise (CI logs, pipes).
import cliProgress from 'cli-progress';

export interface Progress {
  start(label: string, total: number): void;
  tick(): void;
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? barProgress(stream) : lineProgress(stream);
}

function barProgress(stream: NodeJS.WriteStream): Progress {
  const bar = new cliProgress.SingleBar(
    { stream, format: '{label} [{bar}] {value}/{total} {percentage}% | {duration_formatted}', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  return {
    start: (label, total) => bar.start(total, 0, { label }),
    tick: () => bar.increment(),
    stop: () => bar.stop(),
  };
}

function lineProgress(stream: NodeJS.WritableStream): Progress {
  let label = '';
  let total = 0;
  let done = 0;
  let lastTenth = 0;
  return {
    start(l, t) {
      [label, total, done, lastTenth] = [l, t, 0, 0];
      stream.write(`${label}: 0/${total}\n`);
    },
    tick() {
      done++;
      const tenth = Math.floor((done * 10) / total);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        stream.write(`${label}: ${done}/${total}\n`);
      }
    },
    stop() {},
  };
}
