// The error codes stages raise, read from the sources of every folder that
// holds built-in plugins (config/discovery.ts finds them; nothing here names
// one), for docs/ERRORS.md: a stage's code reaches the wire as it is (lower case,
// without ERR_), with the status of the kind it raises. A code is found where a
// stage raises it (`new StageError(CODE, message, 'kind', …)`) or hands it to a
// helper that does (`runnerFailed(CODE, err)` with `new StageError(code, …,
// 'kind')` inside). test/server-error-codes.test.ts holds the page to this list
// and the list to every StageError in the tree.
import fs from 'node:fs';
import path from 'node:path';
import { isErrorKind, type ErrorKind } from '../runtime/contracts.js';

export interface StageErrorCode {
  code: string;
  kind: ErrorKind;
  /** The folders (relative to the repository) whose sources raise it. */
  folders: string[];
  /** The message as written at one place that raises it (template parts shown as …). */
  message: string;
}

const CONSTANT = /(?:export )?const (ERR_[A-Z0-9_]+) = '(ERR_[A-Z0-9_]+)'/g;
const STRING = '(?:`[^`]*`|\'[^\']*\'|"[^"]*")';
/** new StageError(CODE, message, 'kind': the message a string, strings joined with +, or a name. */
const RAISE = new RegExp(`new StageError\\(\\s*('ERR_[A-Z0-9_]+'|ERR_[A-Z0-9_]+|[a-z]\\w*)\\s*,\\s*(${STRING}(?:\\s*\\+\\s*${STRING})*|\\w+)\\s*,\\s*'([a-z_]+)'`, 'g');
const HELPER = /function (\w+)\((\w+)[^)]*\)[^{]*\{[^}]*?new StageError\(\s*\2\s*,[^]*?,\s*'([a-z_]+)'/g;

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const file = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourcesUnder(file);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** The message as the docs show it: template parts as …, a message passed in by name as such. */
function messageText(raw: string): string {
  if (/^\w+$/.test(raw)) return '(the message says what was wrong)';
  return raw.split(/[`'"]\s*\+\s*[`'"]/).join('').replace(/^[`'"]|[`'"]$/g, '').replace(/\$\{[^}]*\}/g, '…');
}

/** Every code (and kind) the sources under `folders` raise, in order of first appearance. */
export function scanStageErrorCodes(folders: string[], root: string): StageErrorCode[] {
  const files = folders.flatMap((dir) => sourcesUnder(dir).map((file) => ({ file, folder: path.relative(root, dir), text: fs.readFileSync(file, 'utf8') })));
  const constants = new Map<string, string>();
  const helpers = new Map<string, ErrorKind>();
  for (const { text } of files) {
    for (const [, name, value] of text.matchAll(CONSTANT)) constants.set(name, value);
    for (const [, name, , kind] of text.matchAll(HELPER)) if (isErrorKind(kind)) helpers.set(name, kind);
  }
  const found = new Map<string, StageErrorCode>();
  // One row per code and kind: a code may be the client's fault in one place and the server's in another.
  const add = (code: string, kind: ErrorKind, folder: string, message: string) => {
    const known = found.get(`${code} ${kind}`);
    if (!known) found.set(`${code} ${kind}`, { code, kind, folders: [folder], message });
    else if (!known.folders.includes(folder)) known.folders.push(folder);
  };
  for (const { folder, text } of files) {
    for (const [, code, message, kind] of text.matchAll(RAISE)) {
      const value = code.startsWith("'") ? code.slice(1, -1) : constants.get(code);
      if (value && isErrorKind(kind)) add(value, kind, folder, messageText(message));
    }
    for (const [name, kind] of helpers) {
      for (const [, code] of text.matchAll(new RegExp(`\\b${name}\\(\\s*(ERR_[A-Z0-9_]+)`, 'g'))) {
        const value = constants.get(code);
        if (value) add(value, kind, folder, `(${name}: the underlying error's message)`);
      }
    }
  }
  return [...found.values()];
}
