// Finds and loads stage plugin modules. A `plugin:` value is a registry name
// (stages/registry.yaml), a module path relative to the pipeline file, an
// absolute path, or an installed package name — so adding a stage never
// needs a change in src/.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import type { StagePlugin } from '../runtime/contracts.js';
import { compiledPath, repoRoot } from '../util/paths.js';

export class PluginError extends Error {}

let registry: Record<string, string> | undefined;

export function registryPath(): string {
  return path.join(repoRoot(), 'stages', 'registry.yaml');
}

/** Built-in plugin names → module paths relative to stages/. */
export function pluginRegistry(): Record<string, string> {
  registry ??= (YAML.parse(fs.readFileSync(registryPath(), 'utf8')) ?? {}) as Record<string, string>;
  return registry;
}

/** Absolute path of the JavaScript module implementing `spec`, as named in `pipelineFile`. */
export function resolvePluginModule(spec: string, pipelineFile: string): string {
  const file = locate(spec, pipelineFile);
  if (!fs.existsSync(file)) {
    throw new PluginError(`plugin '${spec}' resolves to ${file}, which does not exist${file.includes(`${path.sep}dist${path.sep}`) ? ' (run `npm run build`)' : ''}`);
  }
  return file;
}

function locate(spec: string, pipelineFile: string): string {
  if (spec.startsWith('./') || spec.startsWith('../')) return toJavaScript(path.resolve(path.dirname(pipelineFile), spec));
  if (path.isAbsolute(spec)) return toJavaScript(spec);
  const builtIn = pluginRegistry()[spec];
  if (builtIn) return compiledPath(path.posix.join('stages', builtIn));
  try {
    return createRequire(path.resolve(pipelineFile)).resolve(spec);
  } catch {
    const known = Object.keys(pluginRegistry()).join(', ');
    throw new PluginError(`unknown plugin '${spec}': expected a name from stages/registry.yaml (${known}), a path starting with ./ or ../, an absolute path, or an installed package`);
  }
}

/** TypeScript sources inside this repository run from their compiled copy under dist/. */
function toJavaScript(file: string): string {
  if (!file.endsWith('.ts')) return file;
  const rel = path.relative(repoRoot(), file);
  if (rel.startsWith('..') || path.isAbsolute(rel) || rel.startsWith(`dist${path.sep}`)) {
    throw new PluginError(`plugin module ${file} is TypeScript outside this project: compile it and name the .js file`);
  }
  return compiledPath(rel.split(path.sep).join('/'));
}

/** Imports a plugin module and checks its default export is a StagePlugin. */
export async function importPlugin(modulePath: string): Promise<StagePlugin> {
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(modulePath).href);
  } catch (err) {
    throw new PluginError(`cannot load plugin module ${modulePath}: ${(err as Error).message}`);
  }
  const plugin = mod.default as Partial<StagePlugin> | undefined;
  if (!plugin || typeof plugin.create !== 'function' || typeof plugin.name !== 'string') {
    throw new PluginError(`plugin module ${modulePath} must export default { name, create(env), optionsSchema? }`);
  }
  return plugin as StagePlugin;
}
