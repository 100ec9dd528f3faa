// Download progress off a terminal: one line per finished file, plus a line at
// each tenth of the total so a long single-file download still shows signs of life.
import { Writable } from 'node:stream';
import t from 'tap';
import { downloadProgress } from '../src/hub/download-progress.js';

const MB = 1024 * 1024;

t.test('lines per file and per tenth when stderr is not a terminal', async (t) => {
  const lines: string[] = [];
  const sink = Object.assign(new Writable({ write(chunk, _enc, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } }), { isTTY: false });
  const progress = downloadProgress('download Org/M', sink as unknown as NodeJS.WriteStream);
  const total = 100 * MB;
  progress.update(1 * MB, total, 'config.json');
  for (let done = 1; done <= 100; done += 33) progress.update(Math.min(done + 33, 100) * MB, total, 'model.safetensors');
  progress.stop();
  t.same(lines, [
    'download Org/M: config.json done (1/100 MB)',
    'download Org/M: model.safetensors … (34/100 MB)',
    'download Org/M: model.safetensors … (67/100 MB)',
    'download Org/M: model.safetensors done (100/100 MB)',
  ]);
});
