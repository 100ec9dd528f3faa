// Light descriptors: what config loading knows about a stage plugin or a route
// handler without importing its module (a stage module may load onnxruntime,
// which has no place in the HTTP process). Each is a small YAML file beside the
// module it describes; configs/descriptor.schema.json is their schema and
// docs/PLUGINS.md their guide.
import fs from 'node:fs';
import path from 'node:path';
import { readPipelineDocument } from './document.js';
import { ConfigError, type ConfigProblem } from './errors.js';
import { compiledPath, repoRoot } from '../util/paths.js';
import { parseExpression } from './rules.js';
import { validateDescriptor } from './validate.js';

/** One payload field as a contract names it: `text`, `segments[].audio`. */
export interface FieldSpec {
  type: string;
  optional: boolean;
  description?: string;
}
export type Fields = Record<string, FieldSpec>;

export interface Rule {
  if?: string;
  assert: string;
  why: string;
}

interface Described {
  name: string;
  description?: string;
  /** The descriptor file. */
  file: string;
  /** Absolute path of the JavaScript module it describes. */
  module: string;
}

export interface PluginDescriptor extends Described {
  options: object;
  consumes: Fields;
  produces: Fields;
  removes: string[];
  /** Request field → JSON schema, read from payload.params. */
  request: Record<string, object>;
  rules: Rule[];
  /** The stage loads weights from the served model's folder (StageEnv.modelPath): always, or when a condition on its config holds. */
  needs_model: boolean | string;
}

export interface HandlerDescriptor extends Described {
  paths: string[];
  provides: Fields;
  needs: Fields;
}

/** A `serve` flag a folder declares (its manifest's serve_flags; applied by serve-flags.ts). */
export interface ServeFlagSpec {
  value: string;
  description: string;
  /** Dotted pipeline field the flag's value overrides. */
  sets: string;
  /** Served pipeline → the one served instead when the flag is given (relative to the manifest). */
  switch?: Record<string, string>;
}

export interface Manifest {
  plugins?: string[];
  handlers?: string[];
  models?: Record<string, string>;
  cli?: string[];
  serve_flags?: Record<string, ServeFlagSpec>;
}

export function readPluginDescriptor(file: string): PluginDescriptor {
  return readDescriptor(file, 'plugin') as PluginDescriptor;
}

export function readHandlerDescriptor(file: string): HandlerDescriptor {
  return readDescriptor(file, 'handler') as HandlerDescriptor;
}

/** A folder's manifest value (sgl-omni.yaml or package.json "sgl-omni"), checked against the schema. */
export function checkManifest(value: unknown, file: string, at: string): Manifest {
  const problems = validateDescriptor('manifest', value);
  if (problems.length > 0) throw new ConfigError(file, problems.map((p) => ({ ...p, path: [at, p.path].filter(Boolean).join('.') })));
  return value as Manifest;
}

export function readManifestFile(file: string): Manifest {
  const doc = readPipelineDocument(file);
  const problems = validateDescriptor('manifest', doc.value ?? {});
  if (problems.length > 0) throw new ConfigError(file, problems.map(doc.locate));
  return (doc.value ?? {}) as Manifest;
}

function readDescriptor(file: string, kind: 'plugin' | 'handler'): PluginDescriptor | HandlerDescriptor {
  const doc = readPipelineDocument(file);
  const problems = validateDescriptor(kind, doc.value);
  const value = doc.value as Omit<PluginDescriptor & HandlerDescriptor, 'file'>;
  if (problems.length === 0 && kind === 'plugin') problems.push(...ruleProblems(value.rules, value.needs_model));
  if (problems.length > 0) throw new ConfigError(file, problems.map(doc.locate));
  let module: string;
  try {
    module = moduleFile(path.resolve(path.dirname(file), value.module));
  } catch (err) {
    throw new ConfigError(file, [doc.locate({ path: 'module', message: (err as Error).message })]);
  }
  return { ...value, file, module };
}

function ruleProblems(rules: Rule[], needsModel: boolean | string): ConfigProblem[] {
  const conditions = typeof needsModel === 'string' ? [{ path: 'needs_model', text: needsModel }] : [];
  rules.forEach((rule, i) => (['if', 'assert'] as const).forEach((key) => {
    if (rule[key] !== undefined) conditions.push({ path: `rules.${i}.${key}`, text: rule[key]! });
  }));
  return conditions.flatMap(({ path, text }) => {
    try {
      parseExpression(text);
      return [];
    } catch (err) {
      return [{ path, message: (err as Error).message }];
    }
  });
}

/**
 * The JavaScript a worker or the server imports for a module path: TypeScript sources
 * inside this project run from their compiled copy under dist/; anything else must be
 * JavaScript already (a plugin package ships its build output).
 */
export function moduleFile(file: string): string {
  if (!file.endsWith('.ts')) return file;
  const rel = path.relative(repoRoot(), file);
  if (rel.startsWith('..') || path.isAbsolute(rel) || rel.startsWith(`dist${path.sep}`)) {
    throw new Error(`${file} is TypeScript outside sgl-omni-ts: build the plugin and name its .js output`);
  }
  return compiledPath(rel.split(path.sep).join('/'));
}

/** Throws when a described module has not been built. */
export function checkModuleExists(d: Described): void {
  if (fs.existsSync(d.module)) return;
  const hint = d.module.includes(`${path.sep}dist${path.sep}`) ? ' (build it: npm run build)' : '';
  throw new Error(`${d.name} (${d.file}) names module ${d.module}, which does not exist${hint}`);
}
