// docs/PAYLOADS.md, written from the built-in descriptors so the reference cannot
// drift from what `config check` enforces (test/framework-payload-docs.test.ts
// compares them). Regenerate: node dist/src/config/payload-docs.js --write
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoRoot } from '../util/paths.js';
import type { Fields, HandlerDescriptor, PluginDescriptor } from './descriptors.js';
import { builtinCatalogue } from './discovery.js';

export function payloadDocsPath(): string {
  return path.join(repoRoot(), 'docs', 'PAYLOADS.md');
}

const cell = (text: string | undefined) => (text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(fields: Fields): string[] {
  const rows = Object.entries(fields);
  if (rows.length === 0) return ['(none)', ''];
  return ['| field | type | |', '|---|---|---|', ...rows.map(([name, f]) => `| \`${name}\` | ${cell(f.type)} | ${f.optional ? '(optional) ' : ''}${cell(f.description)} |`), ''];
}

const rel = (file: string) => path.relative(repoRoot(), file).split(path.sep).join('/');

function pluginSection(p: PluginDescriptor): string[] {
  const lines = [`### ${p.name}`, '', `${p.description ?? ''} Descriptor: \`${rel(p.file)}\`.`, '', 'Consumes:', '', ...table(p.consumes), 'Produces:', '', ...table(p.produces)];
  if (p.removes.length > 0) lines.push(`Removes: ${p.removes.map((f) => `\`${f}\``).join(', ')}.`, '');
  const request = Object.entries(p.request);
  if (request.length > 0) lines.push('Request fields (`params`):', '', ...request.map(([k, s]) => `- \`${k}\`: \`${JSON.stringify(s)}\``), '');
  if (p.rules.length > 0) lines.push('Rules checked at load:', '', ...p.rules.map((r) => `- ${r.if ? `when \`${r.if}\`: ` : ''}\`${r.assert}\` (${cell(r.why)})`), '');
  return lines;
}

function handlerSection(h: HandlerDescriptor): string[] {
  const paths = h.paths.length > 0 ? ` Default path: ${h.paths.map((p) => `\`${p}\``).join(', ')}.` : '';
  return [`### ${h.name}`, '', `${h.description ?? ''}${paths} Descriptor: \`${rel(h.file)}\`.`, '', 'Submits (the entry payload):', '', ...table(h.provides), 'Needs from the final payload:', '', ...table(h.needs)];
}

export function renderPayloadReference(): string {
  const { plugins, handlers } = builtinCatalogue();
  const byName = <T extends { name: string }>(items: Iterable<T>) => [...items].sort((a, b) => a.name.localeCompare(b.name));
  return [
    '# Payload reference',
    '',
    '<!-- Generated from the *.plugin.yaml and *.handler.yaml descriptors by src/config/payload-docs.ts; do not edit.',
    '     Regenerate: npm run build && node dist/src/config/payload-docs.js --write -->',
    '',
    'A request travels through a pipeline as one payload object. A route\'s handler submits the entry payload;',
    'each stage consumes some fields, passes the others on, and adds or replaces the fields it produces.',
    '`config check` walks this for every route and refuses a stage whose inputs nothing before it produces,',
    'and a route whose handler needs a field the last stage does not leave (docs/PLUGINS.md).',
    '',
    'Types: `bytes` (ArrayBuffer or Uint8Array), `string`, `number` (`integer` satisfies it), `integer`, `boolean`,',
    '`object`, `array` (any `T[]` satisfies it), `Float32Array`, `Float32Array[]`, `any`. `a[].b` is field `b` of',
    'each element of array `a`. Typed arrays and ArrayBuffers move between worker threads without copies.',
    '',
    '## Handlers',
    '',
    ...byName(handlers.values()).flatMap(handlerSection),
    '## Stage plugins',
    '',
    ...byName(plugins.values()).flatMap(pluginSection),
  ].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv.includes('--write')) {
  fs.mkdirSync(path.dirname(payloadDocsPath()), { recursive: true });
  fs.writeFileSync(payloadDocsPath(), renderPayloadReference());
  process.stdout.write(`wrote ${payloadDocsPath()}\n`);
}
