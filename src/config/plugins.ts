// Resolves a pipeline's `plugin:` value to the module a worker imports and, where
// there is one, the plugin's descriptor (options schema and payload contract),
// without importing the module; a route's `handler:` the same way. A value is:
//   - a built-in name (a *.plugin.yaml under stages/<folder>/, a *.handler.yaml
//     under src/server/handlers/), e.g. audio/decode, openai-transcription;
//   - a path starting with ./ or ../ (from the pipeline file) or /: a descriptor
//     file, a folder or package, or (plugins only) a bare stage module (no contract);
//   - a package name, looked up in the node_modules folders above the pipeline
//     file, then above the working directory; its package.json "sgl-omni" field
//     lists its descriptors (or its folder's *.plugin.yaml / *.handler.yaml).
// A folder or package holding several is named with #: my-pkg#gain.
// An unknown value's error lists every place that was searched.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { StagePlugin } from '../runtime/contracts.js';
import { checkModuleExists, moduleFile, readHandlerDescriptor, readPluginDescriptor, type HandlerDescriptor, type PluginDescriptor } from './descriptors.js';
import { builtinCatalogue, PACKAGE_FIELD, readFolder, type FolderContents } from './discovery.js';

export class PluginError extends Error {}

export interface ResolvedPlugin {
  /** Absolute path of the JavaScript module a worker imports. */
  module: string;
  /** Absent for a bare module named by path: its options come from importing it, its payload is unchecked. */
  descriptor?: PluginDescriptor;
}

/** What is being resolved: stage plugins or route handlers. */
interface Kind<D> {
  word: string;
  suffix: string;
  builtins(): Map<string, D>;
  read(file: string): D;
  members(folder: FolderContents): D[];
}

const PLUGIN: Kind<PluginDescriptor> = { word: 'plugin', suffix: '.plugin.yaml', builtins: () => builtinCatalogue().plugins, read: readPluginDescriptor, members: (f) => f.plugins };
const HANDLER: Kind<HandlerDescriptor> = { word: 'handler', suffix: '.handler.yaml', builtins: () => builtinCatalogue().handlers, read: readHandlerDescriptor, members: (f) => f.handlers };

/** Finds `spec` as named in `pipelineFile`; throws PluginError saying where it looked. */
export function resolvePlugin(spec: string, pipelineFile: string): ResolvedPlugin {
  return resolveDescribed(PLUGIN, spec, pipelineFile, (file) => {
    let module: string;
    try {
      module = moduleFile(file);
    } catch (err) {
      throw new PluginError((err as Error).message);
    }
    if (!fs.existsSync(module)) throw new PluginError(`plugin '${spec}' resolves to ${module}, which does not exist (run \`npm run build\`)`);
    return { module };
  });
}

/** Finds a route's `handler:` value as named in `pipelineFile`: built-in, path or package; throws PluginError saying where it looked. */
export function resolveHandler(spec: string, pipelineFile: string): HandlerDescriptor {
  const { descriptor } = resolveDescribed(HANDLER, spec, pipelineFile, (file) => {
    throw new PluginError(`handler '${spec}' resolves to ${file}: name its *.handler.yaml descriptor, or the folder or package holding it`);
  });
  return descriptor!;
}

function resolveDescribed<D extends PluginDescriptor | HandlerDescriptor>(
  kind: Kind<D>,
  spec: string,
  pipelineFile: string,
  bareModule: (file: string) => { module: string; descriptor?: D },
): { module: string; descriptor?: D } {
  const hash = spec.lastIndexOf('#');
  const [target, member] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [spec, undefined];
  if (target.startsWith('./') || target.startsWith('../') || path.isAbsolute(target)) {
    const file = path.resolve(path.dirname(pipelineFile), target);
    if (!fs.existsSync(file)) throw new PluginError(`${kind.word} '${spec}' resolves to ${file}, which does not exist`);
    if (file.endsWith(kind.suffix)) return withModule(kind.read(file));
    if (!fs.statSync(file).isDirectory()) return bareModule(file);
    const folder = readFolder(file)!;
    return withModule(pick(kind, kind.members(folder), spec, member, folder.source));
  }
  const builtIn = kind.builtins().get(spec);
  if (builtIn) return withModule(builtIn);
  const { dir, searched } = findPackage(target, pipelineFile);
  if (!dir) throw new PluginError(unknownMessage(kind, spec, searched));
  const folder = readFolder(dir, true);
  if (!folder) throw new PluginError(`package '${target}' (${dir}) is not an sgl-omni plugin package: its package.json has no "${PACKAGE_FIELD}" field listing its *${kind.suffix} descriptors`);
  return withModule(pick(kind, kind.members(folder), spec, member, folder.source));
}

function withModule<D extends PluginDescriptor | HandlerDescriptor>(descriptor: D): { module: string; descriptor: D } {
  try {
    checkModuleExists(descriptor);
  } catch (err) {
    throw new PluginError((err as Error).message);
  }
  return { module: descriptor.module, descriptor };
}

function pick<D extends { name: string }>(kind: Kind<D>, items: D[], spec: string, member: string | undefined, source: string): D {
  const names = items.map((p) => p.name);
  if (member !== undefined) {
    const found = items.find((p) => p.name === member);
    if (!found) throw new PluginError(`${kind.word} '${spec}': ${source} has no ${kind.word} named '${member}' (it has: ${names.join(', ') || 'none'})`);
    return found;
  }
  if (items.length === 1) return items[0];
  throw new PluginError(`${kind.word} '${spec}': ${source} holds ${items.length} ${kind.word}s (${names.join(', ') || 'none'}); name one as '${spec}#<name>'`);
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

function unknownMessage<D>(kind: Kind<D>, spec: string, searched: string[]): string {
  const { roots } = builtinCatalogue();
  return [
    `unknown ${kind.word} '${spec}'. Looked for:`,
    `  a built-in ${kind.word} (*${kind.suffix} in ${roots.join(', ')}): ${[...kind.builtins().keys()].join(', ')}`,
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
