// Assembles a small English set of real recordings from Debian's
// pocketsphinx-testdata (BSD-2, CMU): five LibriVox utterances from "Sense and
// Sensibility" (16 kHz, 24.7 s) and five spoken card names (16 kHz), with the
// transcripts shipped beside them.
//
//   apt-get install pocketsphinx-testdata
//   node dist/bench/datasets/librivox.js [--out bench/datasets/out/librivox]
//   sgl-omni bench --dataset bench/datasets/out/librivox/manifest.jsonl ...
import fs from 'node:fs';
import path from 'node:path';
import { parseTranscripts } from '../../test/fixtures/vad/librivox.js';
import { outDirFromArgs, writeManifest, type ManifestEntry } from './manifest-writer.js';

const DATA = '/usr/share/pocketsphinx/test/data';
const SETS = [
  { folder: 'librivox', transcripts: 'transcription' },
  { folder: 'cards', transcripts: 'cards.transcription' },
];

const USAGE = `Usage: node dist/bench/datasets/librivox.js [--out DIR]
Copies ten utterances of Debian's pocketsphinx-testdata (LibriVox and spoken card names) with their
transcripts into DIR and writes DIR/manifest.jsonl for \`sgl-omni bench --dataset\`
(default DIR: bench/datasets/out/librivox). Needs: apt-get install pocketsphinx-testdata`;

function main(): void {
  const outDir = outDirFromArgs(USAGE, 'bench/datasets/out/librivox');
  if (!fs.existsSync(DATA)) {
    process.stderr.write(`${DATA} not found: install it with \`apt-get install pocketsphinx-testdata\` (Debian/Ubuntu)\n`);
    process.exit(1);
  }
  const entries: ManifestEntry[] = [];
  for (const set of SETS) {
    for (const [id, text] of parseTranscripts(path.join(DATA, set.folder, set.transcripts))) {
      const clip = `${set.folder}-${id}.wav`;
      fs.copyFileSync(path.join(DATA, set.folder, `${id}.wav`), path.join(outDir, 'clips', clip));
      entries.push({ id: `${set.folder}/${id}`, audio: `clips/${clip}`, text });
    }
  }
  fs.copyFileSync('/usr/share/doc/pocketsphinx-testdata/copyright', path.join(outDir, 'COPYRIGHT'));
  process.stdout.write(`wrote ${writeManifest(outDir, entries)} (${entries.length} clips)\n`);
}

main();
