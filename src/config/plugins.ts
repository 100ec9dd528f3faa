// Resolves a pipeline's `plugin:` value to the module a worker imports and, where
// there is one, the plugin's descriptor (options schema and payload contract),
// without importing the module. A value is:
//   - a built-in name (a *.plugin.yaml under stages/<folder>/), e.g. audio/decode;
//   - a path starting with ./ or ../ (from the pipeline file) or /: a descriptor
//     file, a plugin folder or package, or a bare stage module (no contract);
//   - a package name, looked up in the node_modules folders above the pipeline
//     file, then above the working directory; its package.json "sgl-omni" field
//     lists its descriptors.
// A folder or package holding several plugins is named with #: my-pkg#gain.
// An unknown value's error lists every place that was searched.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { StagePlugin } from '../runtime/contracts.js';
import { checkModuleExists, moduleFile, readPluginDescriptor, type PluginDescriptor } from './descriptors.js';
import { builtinCatalogue, PACKAGE_FIELD, readFolder } from './discovery.js';

export class PluginError extends Error {}

export interface ResolvedPlugin {
  /** Absolute path of the JavaScript module a worker imports. */
  module: string;
  /** Absent for a bare module named by path: its options come from importing it, its payload is unchecked. */
  descriptor?: PluginDescriptor;
}

/** Finds `spec` as named in `pipelineFile`; throws PluginError saying where it looked. */
export function resolvePlugin(spec: string, pipelineFile: string): ResolvedPlugin {
  const hash = spec.lastIndexOf('#');
  const [target, member] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  if (target.startsWith('./') || target.startsWith('../') || path.isAbsolute(target)) {
    return fromPath(path.resolve(path.dirname(pipelineFile), target), spec, member);
  }
  const builtIn = builtinCatalogue().plugins.get(spec);
  if (builtIn) return withModule(builtIn);
  const { dir, searched } = findPackage(target, pipelineFile);
  if (!dir) throw new PluginError(unknownMessage(spec, searched));
  const folder = readFolder(dir, true);
  if (!folder) throw new PluginError(`package '${target}' (${dir}) is not an sgl-omni plugin package: its package.json has no "${PACKAGE_FIELD}" field listing its *.plugin.yaml descriptors`);
  return withModule(pick(folder.plugins, spec, member, folder.source));
}

function fromPath(file: string, spec: string, member: string | undefined): ResolvedPlugin {
  if (!fs.existsSync(file)) throw new PluginError(`plugin '${spec}' resolves to ${file}, which does not exist`);
  if (file.endsWith('.plugin.yaml')) return withModule(readPluginDescriptor(file));
  if (fs.statSync(file).isDirectory()) {
    const folder = readFolder(file)!;
    return withModule(pick(folder.plugins, spec, member, folder.source));
  }
  let module: string;
  try {
    module = moduleFile(file);
  } catch (err) {
    throw new PluginError((err as Error).message);
  }
  if (!fs.existsSync(module)) throw new PluginError(`plugin '${spec}' resolves to ${module}, which does not exist (run \`npm run build\`)`);
  return { module };
}

function withModule(descriptor: PluginDescriptor): ResolvedPlugin {
  try {
    checkModuleExists(descriptor);
  } catch (err) {
    throw new PluginError((err as Error).message);
  }
  return { module: descriptor.module, descriptor };
}

function pick(plugins: PluginDescriptor[], spec: string, member: string | undefined, source: string): PluginDescriptor {
  const names = plugins.map((p) => p.name);
  if (member !== undefined) {
    const found = plugins.find((p) => p.name === member);
    if (!found) throw new PluginError(`plugin '${spec}': ${source} has no plugin named '${member}' (it has: ${names.join(', ') || 'none'})`);
    return found;
  }
  if (plugins.length === 1) return plugins[0];
  throw new PluginError(`plugin '${spec}': ${source} holds ${plugins.length} plugins (${names.join(', ') || 'none'}); name one as '${spec}#<name>'`);
}

/** The package folder of `name` in the node_modules folders above the pipeline file, then above the working directory. */
function findPackage(name: string, pipelineFile: string): { dir?: string; searched: string[] } {
  const searched: string[] = [];
  for (const from of [path.dirname(path.resolve(pipelineFile)), process.cwd()]) {
    for (const modules of createRequire(path.join(from, 'noop.js')).resolve.paths(name) ?? []) {
      if (searched.includes(modules)) continue;
      searched.push(modules);
      if (fs.existsSync(path.join(modules, name, 'package.json'))) return { dir: path.join(modules, name), searched };
    }
  }
  return { searched };
}

function unknownMessage(spec: string, searched: string[]): string {
  const { plugins, roots } = builtinCatalogue();
  return [
    `unknown plugin '${spec}'. Looked for:`,
    `  a built-in plugin (*.plugin.yaml in ${roots.join(', ')}): ${[...plugins.keys()].join(', ')}`,
    `  a package named '${spec}' in: ${searched.join(', ')}`,
    `  (a path must start with ./, ../ or /)`,
  ].join('\n');
}

/** Imports a bare plugin module (one without a descriptor) and checks its default export is a StagePlugin. */
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
