// The long-audio LibriVox set the VAD benches measure on: the five utterances of Debian's
// pocketsphinx-testdata (Sense and Sensibility, 16 kHz, 24.7 s of speech) each used twice
// in a fixed order, joined by 0.8-4 s of digital silence or -40 dBFS noise (seeded), about
// 76 s in all; without the package, the two utterances the tests copy (their 33.8 s layout).
// Where each utterance's speech lies comes from test/fixtures/vad/librivox.ts (energy edges).
import fs from 'node:fs';
import path from 'node:path';
import type { Gap } from '../../test/fixtures/vad/long-audio.js';
import { joinUtterances, LIBRIVOX_GAPS, readUtterances, type LongRecording } from '../../test/fixtures/vad/librivox.js';

export const PACKAGE_DIR = '/usr/share/pocketsphinx/test/data/librivox';

/** Joins: lengths cycle through these (s), every other one noise; long enough apart that each utterance is its own segment at the defaults, short ones included. */
const JOIN_S = [1.2, 2.5, 0.8, 4, 1.5, 3, 1, 2, 3.5, 1.8];

export interface LibrivoxSet extends LongRecording {
  /** Where the utterances came from. */
  source: string;
  /** Words of every utterance, in order. */
  words: number;
}

export function loadLibrivoxSet(): LibrivoxSet {
  const fromPackage = fs.existsSync(path.join(PACKAGE_DIR, 'transcription'));
  if (!fromPackage) {
    const rec = joinUtterances(readUtterances(), LIBRIVOX_GAPS);
    return { ...rec, source: 'test/fixtures/vad/librivox (2 utterances; apt-get install pocketsphinx-testdata for all 5)', words: countWords(rec) };
  }
  const utterances = readUtterances(PACKAGE_DIR);
  const order = [...utterances, ...utterances.slice().reverse()];
  const gaps: Gap[] = [{ s: 1, noise: false }, ...order.slice(1).map((_, i) => ({ s: JOIN_S[i % JOIN_S.length], noise: i % 2 === 0 })), { s: 1, noise: false }];
  const rec = joinUtterances(order, gaps);
  return { ...rec, source: `${PACKAGE_DIR} (5 utterances, each twice)`, words: countWords(rec) };
}

function countWords(rec: LongRecording): number {
  return rec.utterances.reduce((n, u) => n + u.text.split(' ').length, 0);
}
