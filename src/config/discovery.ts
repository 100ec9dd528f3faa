// Finds plugins, route handlers, models and CLI extensions from their own folders
// instead of central lists: every folder directly under stages/, the built-in
// handlers under src/server/handlers/, and any plugin package a pipeline names;
// `serve` flags also from the plugin packages the project depends on.
// A folder declares what it holds in sgl-omni.yaml (a package: the "sgl-omni"
// field of its package.json); without one, its *.plugin.yaml and *.handler.yaml
// files are what it holds. Adding a model is a folder plus a pipeline YAML.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import {
  checkManifest,
  moduleFile,
  readHandlerDescriptor,
  readManifestFile,
  readPluginDescriptor,
  type HandlerDescriptor,
  type Manifest,
  type PluginDescriptor,
} from './descriptors.js';
import type { ServeFlag } from './serve-flags.js';
import { ConfigError } from './errors.js';
import { repoRoot } from '../util/paths.js';

export const MANIFEST_FILE = 'sgl-omni.yaml';
export const PACKAGE_FIELD = 'sgl-omni';

/** What one folder or package holds. */
export interface FolderContents {
  dir: string;
  /** Where its manifest was read from (sgl-omni.yaml, package.json) or the folder itself. */
  source: string;
  plugins: PluginDescriptor[];
  handlers: HandlerDescriptor[];
  /** Architecture → absolute path of the pipeline YAML. */
  models: Record<string, string>;
  /** Absolute paths of CLI extension modules (compiled JavaScript). */
  cli: string[];
  /** Flags it adds to `serve`, pipeline paths absolute. */
  serveFlags: ServeFlag[];
}

export interface Catalogue {
  /** Folders searched, for error messages. */
  roots: string[];
  plugins: Map<string, PluginDescriptor>;
  handlers: Map<string, HandlerDescriptor>;
  models: Map<string, { pipeline: string; source: string }>;
  cli: string[];
  serveFlags: Map<string, ServeFlag>;
}

/** The folder's manifest, or null when it has none. */
function manifestOf(dir: string): { manifest: Manifest; source: string } | null {
  const own = path.join(dir, MANIFEST_FILE);
  if (fs.existsSync(own)) return { manifest: readManifestFile(own), source: own };
  const pkgFile = path.join(dir, 'package.json');
  if (!fs.existsSync(pkgFile)) return null;
  const field = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as Record<string, unknown>)[PACKAGE_FIELD];
  if (field === undefined) return null;
  return { manifest: checkManifest(field, pkgFile, PACKAGE_FIELD), source: pkgFile };
}

function filesEndingWith(dir: string, suffix: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(suffix)).sort().map((f) => path.join(dir, f));
}

/** Reads a folder's descriptors. `requireManifest`: a package must say it is a plugin package. */
export function readFolder(dir: string, requireManifest = false): FolderContents | null {
  const found = manifestOf(dir);
  if (!found && requireManifest) return null;
  const manifest = found?.manifest ?? {};
  const rel = (files: string[] | undefined, suffix: string) => (files ? files.map((f) => path.resolve(dir, f)) : filesEndingWith(dir, suffix));
  return {
    dir,
    source: found?.source ?? dir,
    plugins: rel(manifest.plugins, '.plugin.yaml').map(readPluginDescriptor),
    handlers: rel(manifest.handlers, '.handler.yaml').map(readHandlerDescriptor),
    models: Object.fromEntries(Object.entries(manifest.models ?? {}).map(([arch, file]) => [arch, path.resolve(dir, file)])),
    cli: (manifest.cli ?? []).map((f) => moduleFile(path.resolve(dir, f))),
    serveFlags: Object.entries(manifest.serve_flags ?? {}).map(([name, spec]) => ({
      ...spec,
      name,
      file: found!.source,
      switch: Object.fromEntries(Object.entries(spec.switch ?? {}).map(([from, to]) => [path.resolve(dir, from), path.resolve(dir, to)])),
    })),
  };
}

/** Folders that hold the built-in plugins and handlers. */
export function builtinRoots(): string[] {
  const stages = path.join(repoRoot(), 'stages');
  const folders = fs.readdirSync(stages, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(stages, e.name)).sort();
  return [...folders, path.join(repoRoot(), 'src', 'server', 'handlers')].filter((dir) => fs.existsSync(dir));
}

let builtins: Catalogue | undefined;

/** Everything the built-in folders hold, by name; two descriptors with one name is an error. */
export function builtinCatalogue(): Catalogue {
  if (builtins) return builtins;
  const roots = builtinRoots();
  const catalogue: Catalogue = { roots, plugins: new Map(), handlers: new Map(), models: new Map(), cli: [], serveFlags: new Map() };
  const unique = <T extends { name: string; file: string }>(map: Map<string, T>, item: T) => {
    const other = map.get(item.name);
    if (other) throw new ConfigError(item.file, [{ path: 'name', message: `'${item.name}' is already the name of ${other.file}` }]);
    map.set(item.name, item);
  };
  for (const dir of roots) {
    const folder = readFolder(dir)!;
    folder.plugins.forEach((p) => unique(catalogue.plugins, p));
    folder.handlers.forEach((h) => unique(catalogue.handlers, h));
    folder.serveFlags.forEach((f) => unique(catalogue.serveFlags, f));
    for (const [arch, pipeline] of Object.entries(folder.models)) catalogue.models.set(arch, { pipeline, source: folder.source });
    catalogue.cli.push(...folder.cli);
  }
  return (builtins = catalogue);
}

/**
 * The plugin packages (a package.json with an "sgl-omni" field) that the project in `cwd` depends
 * on: its nearest package.json's dependencies, devDependencies and optionalDependencies, found as
 * Node finds them. Their serve_flags join the built-in ones (a package a pipeline names is found
 * when the pipeline loads, too late for the command line). `skipped` gets a package whose
 * manifest is broken, which is left out.
 */
export function dependencyPackages(cwd: string, skipped: (dir: string, err: Error) => void = () => {}): FolderContents[] {
  let dir = path.resolve(cwd);
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    if (path.dirname(dir) === dir) return [];
    dir = path.dirname(dir);
  }
  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as Record<string, Record<string, string> | undefined>;
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies });
  const paths = createRequire(pkgFile).resolve.paths('') ?? [];
  const found: FolderContents[] = [];
  for (const name of names) {
    const home = paths.map((modules) => path.join(modules, name)).find((p) => fs.existsSync(path.join(p, 'package.json')));
    if (!home) continue;
    try {
      const folder = readFolder(home, true);
      if (folder) found.push(folder);
    } catch (err) {
      skipped(home, err as Error);
    }
  }
  return found;
}
