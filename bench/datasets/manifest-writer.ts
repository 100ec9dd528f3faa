// Shared by the dataset scripts: copies clips next to a JSONL manifest in the
// format `sgl-omni bench --dataset` reads, so the folder can move as a whole.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseScriptArgs } from '../args.js';

export interface ManifestEntry {
  id: string;
  /** Path of the clip relative to the manifest. */
  audio: string;
  text: string;
}

export function writeManifest(outDir: string, entries: ManifestEntry[]): string {
  const file = path.join(outDir, 'manifest.jsonl');
  fs.writeFileSync(file, entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return file;
}

/** True when `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Output folder from `--out DIR` (default `fallback`), created if missing; --help prints `usage` and exits. */
export function outDirFromArgs(usage: string, fallback: string): string {
  const { values } = parseScriptArgs(usage, { options: { out: { type: 'string', default: fallback } } });
  const dir = path.resolve(values.out);
  fs.mkdirSync(path.join(dir, 'clips'), { recursive: true });
  return dir;
}
