// The framework's layering, read from the sources (issue 13's done-when): no stage
// imports server, CLI or eval code; the runtime and config import no stage and no
// server code; and no identifier in the runtime, config or server core (outside
// src/server/handlers/, where the API handlers live) names audio, mel, Qwen or
// Whisper. Messages and comments may mention them; code may not depend on them.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { repoRoot } from '../src/util/paths.js';

const root = repoRoot();

function sources(dir: string, skip: (rel: string) => boolean = () => false): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => path.join(dir, f).split(path.sep).join('/'))
    .filter((f) => f.endsWith('.ts') && !skip(f));
}

/** Module specifiers of every import and export-from in a file. */
function imports(file: string): string[] {
  const info = ts.preProcessFile(fs.readFileSync(path.join(root, file), 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/** Where a relative import of `file` lands, relative to the repo root. */
const target = (file: string, spec: string) => path.relative(root, path.resolve(root, path.dirname(file), spec)).split(path.sep).join('/');

function crossings(files: string[], forbidden: RegExp): string[] {
  return files.flatMap((file) => imports(file).filter((s) => s.startsWith('.') && forbidden.test(target(file, s))).map((s) => `${file} imports ${s}`));
}

const isCore = (f: string) => !f.startsWith('src/server/handlers/');

/** An identifier with a word (camelCase, snake_case) naming the media or the model: audioSeconds, MEL_BINS, qwen3. */
const names = (id: string) => id.split(/_|(?<=[a-z0-9])(?=[A-Z])/).some((w) => /^(audio|mels?|qwen\d*|whisper)$/i.test(w));

t.test('no stage imports server, CLI or eval code', async (t) => {
  t.same(crossings(sources('stages'), /^src\/(server|eval|cli)/), []);
});

t.test('the runtime and config import no stage and no server code; the server core imports no stage', async (t) => {
  t.same(crossings([...sources('src/runtime'), ...sources('src/config')], /^(stages|src\/server|src\/eval)\//), []);
  t.same(crossings(sources('src/server').filter(isCore), /^stages\//), []);
});

t.test('no identifier in the runtime, config or server core names audio, mel, Qwen or Whisper', async (t) => {
  const found: string[] = [];
  for (const file of [...sources('src/runtime'), ...sources('src/config'), ...sources('src/server').filter(isCore)]) {
    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && names(node.text)) found.push(`${file}: ${node.text}`);
      node.forEachChild(visit);
    };
    visit(ts.createSourceFile(file, fs.readFileSync(path.join(root, file), 'utf8'), ts.ScriptTarget.ES2022));
  }
  t.same(found, []);
});
