// Writes the long-audio LibriVox set (librivox-set.ts) to disk: long.wav (16 kHz 16-bit) and
// joins.json (each utterance's clip and speech span in seconds, its words, the gaps), for
// listening to it or feeding it to another server.
//
//   apt-get install pocketsphinx-testdata
//   node dist/bench/datasets/librivox-long.js [--out bench/datasets/out/librivox-long]
import fs from 'node:fs';
import path from 'node:path';
import { buildWav } from '../../test/fixtures/audio/wav-writer.js';
import { RATE } from '../../test/fixtures/vad/long-audio.js';
import { loadLibrivoxSet } from './librivox-set.js';
import { outDirFromArgs } from './manifest-writer.js';

const USAGE = `Usage: node dist/bench/datasets/librivox-long.js [--out DIR]
Joins the LibriVox utterances of Debian's pocketsphinx-testdata with known silences and noise into
DIR/long.wav and writes where each utterance and its speech lie to DIR/joins.json
(default DIR: bench/datasets/out/librivox-long). Without the package, the two utterances in test/fixtures.`;

const outDir = outDirFromArgs(USAGE, 'bench/datasets/out/librivox-long');
const set = loadLibrivoxSet();
const pcm = Int16Array.from(set.samples, (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32768))));
fs.writeFileSync(path.join(outDir, 'long.wav'), buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(pcm.buffer) }));
fs.writeFileSync(path.join(outDir, 'joins.json'), JSON.stringify({ source: set.source, seconds: set.samples.length / RATE, utterances: set.utterances, gaps: set.gaps }, null, 1));
process.stdout.write(`wrote ${path.join(outDir, 'long.wav')} (${(set.samples.length / RATE).toFixed(1)} s, ${set.utterances.length} utterances from ${set.source}) and joins.json\n`);
