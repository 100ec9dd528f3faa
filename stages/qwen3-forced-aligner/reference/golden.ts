// Reads an aligner golden set (test/fixtures/golden/qwen3-forced-aligner/<set>/,
// written by tools/golden/make_golden_aligner.py from the official transformers
// aligner) and runs the project's aligner on its cases, all in one batch, for
// the golden test and bench/aligner.ts. The set stores the "-hf" checkpoint;
// the original layout is regenerated from the recorded generator seed.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeAudio } from '../../audio/decode.js';
import type { Precision } from '../../common/engine/runner.js';
import { GoldenDir, relativeError } from '../../common/reference/golden-dir.js';
import { Aligner } from '../aligner.js';
import { makeAlignerCheckpoint, type AlignerSize } from '../checkpoint/make-checkpoint.js';
import type { WordTime } from '../decode/timestamps.js';
import { splitWords } from '../text/words.js';

export interface AlignerGoldenCase {
  wav: string; language: string; text: string; words: string[]; slots: number; times: WordTime[];
}

export interface AlignerManifest {
  generator: { size: AlignerSize; seed: number; original_sha256: Record<string, string> };
  config: { timestamp_token_id: number; timestamp_segment_time: number; classes: number };
  tolerances: { slot_logits_fp32: { max_rel: number } };
  cases: Record<string, AlignerGoldenCase>;
  repair: { raw_ms: number[]; fixed_ms: number[] }[];
}

export class AlignerGoldenSet extends GoldenDir<AlignerManifest> {
  get cases(): string[] { return Object.keys(this.manifest.cases); }

  /** Writes the original-layout checkpoint the set was made from; returns its safetensors' sha256 by file. */
  async regenerateOriginal(out: string): Promise<Record<string, string>> {
    const { size, seed } = this.manifest.generator;
    if (!fs.existsSync(path.join(out, 'config.json'))) await makeAlignerCheckpoint({ size, seed, out });
    return Object.fromEntries(fs.readdirSync(out).filter((f) => f.endsWith('.safetensors')).sort()
      .map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(out, f))).digest('hex')]));
  }
}

export interface CaseOutcome {
  name: string;
  words: string[];
  idsSame: boolean;
  logitsError: number;
  /** Our slot logits [slots, classes]. */
  logits: Float32Array;
  times: WordTime[];
  expected: AlignerGoldenCase;
}

/** Aligns every case of the set in one call at `precision` on the checkpoint in `modelPath`. */
export async function runAlignerGolden(set: AlignerGoldenSet, opts: { modelPath: string; cacheDir: string; precision: Precision; batched?: boolean }): Promise<CaseOutcome[]> {
  const aligner = await Aligner.create({ modelPath: opts.modelPath, cacheDir: opts.cacheDir, precision: opts.precision, device: 'cpu', threads: 1 });
  try {
    const requests = await Promise.all(set.cases.map(async (name) => {
      const c = set.manifest.cases[name];
      const decoded = await decodeAudio(new Uint8Array(fs.readFileSync(path.join(set.dir, c.wav))), { maxDurationS: 60 });
      return { samples: decoded.channels[0], words: splitWords(c.text) };
    }));
    const results = opts.batched === false
      ? (await Promise.all(requests.map((r) => aligner.align([r])))).flat()
      : await aligner.align(requests);
    return set.cases.map((name, i) => {
      const ids = set.array(`${name}.prompt_ids`);
      const r = results[i];
      return {
        name, words: requests[i].words,
        idsSame: r.ids.length === ids.length && r.ids.every((v, j) => v === ids[j]),
        logitsError: relativeError(r.logits, set.array(`${name}.slot_logits`)),
        logits: r.logits,
        times: r.words, expected: set.manifest.cases[name],
      };
    });
  } finally {
    await aligner.dispose();
  }
}
