// Synthetic English speech from espeak-ng, resampled to 16 kHz mono with sox:
// a set whose references are exact, covering numbers, contractions and titles
// that exercise the Whisper normaliser. Robotic voice, so WER is not comparable
// with real speech; useful for smoke runs and load tests on any machine.
//
//   apt-get install espeak-ng sox
//   node dist/bench/datasets/espeak.js [--out bench/datasets/out/espeak]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasCommand, outDirFromArgs, writeManifest, type ManifestEntry } from './manifest-writer.js';

const SENTENCES = [
  'The quick brown fox jumps over the lazy dog.',
  'She sells sea shells by the sea shore.',
  'It was the best of times, it was the worst of times.',
  'Please call Stella and ask her to bring these things with her from the store.',
  'The meeting starts at ten thirty on Tuesday morning.',
  'We paid twenty dollars for three tickets to the museum.',
  "I can't believe it's already the twenty first of December.",
  'Doctor Smith moved to Saint Louis in nineteen ninety nine.',
  'The train to Boston leaves from platform number seven.',
  'Turn left at the second traffic light and continue for two miles.',
  'Our revenue grew by fifteen percent in the last quarter.',
  'They have been waiting for the results since early this morning.',
  'Speech recognition converts spoken language into written text.',
  'The weather tomorrow will be sunny with a light breeze from the west.',
  'He ordered a large coffee, two croissants and a glass of orange juice.',
  'Remember to back up your files before installing the update.',
  'The library closes at five o\'clock on weekends.',
  'A thousand people gathered in the square to watch the fireworks.',
  'Mister Brown teaches mathematics and physics at the local school.',
  'Could you repeat the last sentence a little more slowly?',
];

const USAGE = `Usage: node dist/bench/datasets/espeak.js [--out DIR]
Speaks ${SENTENCES.length} English sentences with espeak-ng into 16 kHz WAV clips (sox) and writes
DIR/manifest.jsonl for \`sgl-omni bench --dataset\` (default DIR: bench/datasets/out/espeak).
Needs: apt-get install espeak-ng sox`;

function main(): void {
  const outDir = outDirFromArgs(USAGE, 'bench/datasets/out/espeak');
  const missing = ['espeak-ng', 'sox'].filter((c) => !hasCommand(c));
  if (missing.length > 0) {
    process.stderr.write(`${missing.join(' and ')} not found: install with \`apt-get install espeak-ng sox\`\n`);
    process.exit(1);
  }
  const raw = path.join(outDir, 'clips', 'raw.wav');
  const entries: ManifestEntry[] = SENTENCES.map((text, i) => {
    const id = `espeak-${String(i + 1).padStart(2, '0')}`;
    const clip = path.join(outDir, 'clips', `${id}.wav`);
    // alternate two voices and speeds so clips differ in length and timbre
    execFileSync('espeak-ng', ['-v', i % 2 ? 'en-us' : 'en-gb', '-s', String(150 + (i % 3) * 15), '-w', raw, text]);
    execFileSync('sox', [raw, '-r', '16000', '-c', '1', '-b', '16', clip]);
    return { id, audio: `clips/${id}.wav`, text };
  });
  fs.rmSync(raw);
  process.stdout.write(`wrote ${writeManifest(outDir, entries)} (${entries.length} clips)\n`);
}

main();
