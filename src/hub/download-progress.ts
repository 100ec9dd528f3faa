// Byte progress of a model download: a cli-progress bar on a terminal, a line
// per finished file otherwise (logs and pipes).
import cliProgress from 'cli-progress';

export interface DownloadProgress {
  update(doneBytes: number, totalBytes: number, file: string): void;
  stop(): void;
}

const MB = 1024 * 1024;

export function downloadProgress(label: string, stream: NodeJS.WriteStream = process.stderr): DownloadProgress {
  return stream.isTTY ? barProgress(label, stream) : lineProgress(label, stream);
}

function barProgress(label: string, stream: NodeJS.WriteStream): DownloadProgress {
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} [{bar}] {percentage}% | {doneMb}/{totalMb} MB | {file}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, file) {
      const payload = { doneMb: (done / MB).toFixed(0), totalMb: (total / MB).toFixed(0), file };
      if (!started) bar.start(total, done, payload);
      else bar.update(done, payload);
      started = true;
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** A line when a file completes, and every tenth of the total within a large file. */
function lineProgress(label: string, stream: NodeJS.WritableStream): DownloadProgress {
  let last = { file: '', done: 0, total: 0 };
  let printedTenth = 0;
  const write = ({ file, done, total }: typeof last, what: string) =>
    stream.write(`${label}: ${file} ${what} (${(done / MB).toFixed(0)}/${(total / MB).toFixed(0)} MB)\n`);
  return {
    update(done, total, file) {
      if (file !== last.file && last.file) write(last, 'done');
      last = { file, done, total };
      const tenth = total > 0 ? Math.floor((done * 10) / total) : 10;
      if (tenth > printedTenth) {
        printedTenth = tenth;
        if (tenth < 10) write(last, '…');
      }
    },
    stop: () => {
      if (last.file) write(last, 'done');
    },
  };
}
