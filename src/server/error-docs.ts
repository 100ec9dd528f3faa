// docs/ERRORS.md, written from the error catalogue (src/server/errors.ts), the
// runtime's codes (src/runtime/errors.ts) and the codes the built-in stages raise
// (stage-error-codes.ts reads them from the plugin folders), so the page cannot
// drift from what the server answers (test/server-errors.test.ts compares them,
// test/server-error-codes.test.ts checks every code reachable on the wire is there).
// Regenerate: npm run build && node dist/src/server/error-docs.js --write
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_KINDS } from '../runtime/contracts.js';
import { RUNTIME_ERRORS } from '../runtime/errors.js';
import { repoRoot } from '../util/paths.js';
import { builtinRoots } from '../config/discovery.js';
import { ERRORS, errorType, KIND_STATUS, wireCode } from './errors.js';
import { scanStageErrorCodes } from './stage-error-codes.js';

export function errorDocsPath(): string {
  return path.join(repoRoot(), 'docs', 'ERRORS.md');
}

const cell = (text: string) => text.replace(/\|/g, '\\|');
const template = (message: string) => (message === '%s' ? '(the message says what was wrong)' : `\`${cell(message)}\``);

export function renderErrorReference(): string {
  const kinds = Object.entries(KIND_STATUS).map(([kind, status]) => `| \`${kind}\` | ${status} | ${errorType(status)} | ${cell(ERROR_KINDS[kind as keyof typeof ERROR_KINDS])} |`);
  const server = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.type} | ${template(e.message)} |`);
  const runtime = Object.entries(RUNTIME_ERRORS).map(([code, e]) => `| \`${wireCode(code)}\` (${code}) | \`${e.kind}\` | ${KIND_STATUS[e.kind]} | ${cell(e.means)} |`);
  const stages = scanStageErrorCodes(builtinRoots(), repoRoot())
    .filter((e) => !(e.code in RUNTIME_ERRORS))
    .sort((a, b) => a.code.localeCompare(b.code) || a.kind.localeCompare(b.kind))
    .map((e) => `| \`${wireCode(e.code)}\` (${e.code}) | \`${e.kind}\` | ${KIND_STATUS[e.kind]} | ${e.folders.join(', ')} | ${cell(e.message)} |`);
  return [
    '# Errors',
    '',
    '<!-- Generated from src/server/errors.ts and src/runtime/errors.ts by src/server/error-docs.ts; do not edit.',
    '     Regenerate: npm run build && node dist/src/server/error-docs.js --write -->',
    '',
    'Every failure is answered in OpenAI\'s shape, `{"error": {"message", "type", "param", "code"}}`, with the',
    'status below; `param` names the form field at fault, when one is. A 500 never shows its cause: the message',
    'gives the request id, and the log line with that `reqId` has the code, the message and the stack (for a',
    'plugin that threw, the plugin\'s own stack, carried from its worker). 503 answers carry `Retry-After`.',
    '',
    '## Kinds',
    '',
    'Stages and the runtime do not choose HTTP statuses: they raise a kind (`new StageError(code, message, kind, param)`',
    'in a plugin, `sgl-omni-ts/plugin`), and the server answers each kind with one status. The wire code is the',
    'error\'s own code in lower case without `ERR_` (`ERR_AUDIO_DECODE` → `audio_decode`).',
    '',
    '| kind | status | type | when |',
    '|---|---|---|---|',
    ...kinds,
    '',
    '## Codes the server answers with',
    '',
    '| code | status | type | message |',
    '|---|---|---|---|',
    ...server,
    '',
    '## Codes the runtime raises',
    '',
    '| code | kind | status | when |',
    '|---|---|---|---|',
    ...runtime,
    '',
    '## Codes the built-in stages raise',
    '',
    'Read from the sources of the plugin folders (src/server/stage-error-codes.ts). A 500\'s message never shows',
    'the stage\'s text; other statuses show it (absolute paths removed).',
    '',
    '| code | kind | status | raised in | message |',
    '|---|---|---|---|---|',
    ...stages,
    '',
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  fs.writeFileSync(errorDocsPath(), renderErrorReference());
  process.stdout.write(`wrote ${errorDocsPath()}\n`);
}
