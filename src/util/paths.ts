// Locates files that ship with the project (pipelines, configs, fixtures)
// whether code runs from src/ through a loader or compiled under dist/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding the project's package.json. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'sgl-omni-ts') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error('sgl-omni-ts package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** Compiled JavaScript for a source path relative to the repo root, e.g. 'stages/audio/decode-stage.ts'. */
export function compiledPath(rel: string): string {
  return path.join(repoRoot(), 'dist', rel.replace(/\.ts$/, '.js'));
}
