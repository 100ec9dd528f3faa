// On-disk cache of converted ONNX graphs, for any model whose graphs are built
// from checkpoint weights. An entry is keyed by what the model's recipe says the
// graph depends on (builder version, precision, config files, the code of the
// modules that build it, and the content of every weight tensor it reads); it is written into a temporary folder and
// renamed into place, so a half-written entry is never used and a second start
// only opens the files. The model supplies the key inputs and a build callback.
// Every open touches an entry; building one removes the entries of the same name
// and model config but another key (an older version's graphs, other weights)
// that nobody opened for STALE_AFTER_MS: each upgrade left its own graph set (1-3
// GB per model), and a developer's bench cache had grown to 46 GB of them. A
// server running longer than that keeps working on a removed entry (its files
// stay while open); its next start converts again.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GraphBuilder } from '../onnx/graph-builder.js';
import { contentDigest, type ByteRange } from '../weights/digest.js';
import type { TensorInfo } from '../weights/safetensors.js';
import type { BlockContext, LinearPrecision, QuantKernel, WeightSource } from './context.js';

export interface ConvertProgress { part: string; tensor: string; doneElements: number; totalElements: number }

export interface HashProgress { part: string; doneBytes: number; totalBytes: number }

export interface GraphKeyInputs {
  /** Graph part, for progress and the digest sidecar's name. */
  part: string;
  /** What identifies the recipe (builder version, part, precision), hashed as JSON. */
  recipe: object;
  /** Files the graph depends on as a whole (config.json). */
  files: string[];
  /**
   * The modules that build the graph (folders or files, as import.meta.url-relative URLs): their code
   * is hashed, so a changed builder can never load a graph cached by the old one, even where
   * nobody bumped the recipe's version (a shared block changing under several models).
   */
  sources: URL[];
  /** Stored tensors the part reads: their names, dtypes, shapes and bytes go into the key. */
  tensors: TensorInfo[];
  cacheDir: string;
  onHashProgress?: (p: HashProgress) => void;
}

/**
 * The key covers the recipe, the files, and the names, dtypes, shapes and bytes of every tensor
 * the part reads (weights/digest.ts: hashed once, remembered in a sidecar per part, so parts
 * built by stages starting together hash disjoint bytes). It is `<files>-<all>`: 8 hex digits of
 * the files alone (the model's config), so pruning tells one model's entries from another's,
 * then 16 of everything.
 */
export function graphCacheKey(k: GraphKeyInputs): string {
  const ranges = new Map<string, ByteRange[]>();
  for (const t of k.tensors) ranges.set(t.file, [...(ranges.get(t.file) ?? []), { offset: t.offset, length: t.byteLength }]);
  const weights = contentDigest(ranges, {
    sidecar: path.join(k.cacheDir, `weight-digests.${k.part}.json`),
    onProgress: (doneBytes, totalBytes) => k.onHashProgress?.({ part: k.part, doneBytes, totalBytes }),
  });
  const h = crypto.createHash('sha256');
  const config = crypto.createHash('sha256');
  h.update(JSON.stringify(k.recipe));
  for (const file of k.files) {
    const bytes = fs.readFileSync(file);
    h.update(bytes);
    config.update(bytes);
  }
  h.update(sourceDigest(k.sources));
  h.update(JSON.stringify(k.tensors.map((t) => [t.name, t.dtype, t.shape])));
  h.update(weights);
  return `${config.digest('hex').slice(0, 8)}-${h.digest('hex').slice(0, 16)}`;
}

const sourceDigests = new Map<string, Buffer>();

/** sha256 over the .js files of `sources` (a folder: its own files, not sub-folders), by sorted path; once per process. */
function sourceDigest(sources: URL[]): Buffer {
  const files = sources.flatMap((u) => {
    const p = fileURLToPath(u);
    return fs.statSync(p).isDirectory() ? fs.readdirSync(p).filter((n) => n.endsWith('.js')).map((n) => path.join(p, n)) : [p];
  }).sort();
  const id = files.join('\0');
  let digest = sourceDigests.get(id);
  if (!digest) {
    const h = crypto.createHash('sha256');
    for (const f of files) h.update(f.slice(f.lastIndexOf(path.sep) + 1)).update(fs.readFileSync(f));
    sourceDigests.set(id, (digest = h.digest()));
  }
  return digest;
}

/** Entries of one name and config with another key, not opened for this long, are removed when a new one is built. */
export const STALE_AFTER_MS = 7 * 24 * 3600 * 1000;
/** `<name>-<8 hex of config>-<16 hex of everything>`, as graphCacheKey makes them. */
const KEYED_ENTRY = /^(.+-[0-9a-f]{8})-[0-9a-f]{16}$/;

/** Path of the cached graph `<cacheDir>/<entry>/model.onnx`, calling `build(folder)` first when missing. */
export function ensureCachedGraph(cacheDir: string, entry: string, build: (outDir: string) => void): string {
  const dir = path.join(cacheDir, entry);
  const model = path.join(dir, 'model.onnx');
  // touched before it is looked at, so a build pruning at this moment sees it as used
  touch(dir);
  if (fs.existsSync(model)) return model;
  fs.mkdirSync(cacheDir, { recursive: true });
  removeAbandonedBuilds(dir);
  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp);
  try {
    build(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same entry first: keep theirs.
      if (!fs.existsSync(model)) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  removeStaleSiblings(cacheDir, entry);
  return model;
}

/** Marks an entry used now (its folder's modification time). */
function touch(dir: string): void {
  const now = new Date();
  try {
    fs.utimesSync(dir, now, now);
  } catch {
    // a read-only cache still serves its graphs; it is just never pruned
  }
}

/** Removes `<name>-<config>-<other key>` entries not opened for STALE_AFTER_MS. */
function removeStaleSiblings(cacheDir: string, entry: string): void {
  const name = KEYED_ENTRY.exec(entry)?.[1];
  if (!name) return;
  const before = Date.now() - STALE_AFTER_MS;
  for (const other of fs.readdirSync(cacheDir)) {
    if (other === entry || KEYED_ENTRY.exec(other)?.[1] !== name) continue;
    const dir = path.join(cacheDir, other);
    try {
      if (fs.statSync(dir).mtimeMs < before) fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // removed meanwhile by another process
    }
  }
}

export interface GraphRecipe {
  /** The ONNX graph's name. */
  name: string;
  part: string;
  weights: WeightSource;
  precision: LinearPrecision;
  quantKernel?: QuantKernel;
  /** Weight elements the recipe reads (progress total). */
  totalElements: number;
  onProgress?: (p: ConvertProgress) => void;
  /** Adds the model's nodes through the block builders. */
  build(ctx: BlockContext): void;
}

/** Writes `model.onnx` (weights in `weights.bin` beside it) into `outDir`, reporting progress per weight. */
export function writeGraph(outDir: string, recipe: GraphRecipe): void {
  const g = new GraphBuilder(recipe.name);
  g.openExternalData(path.join(outDir, 'weights.bin'));
  const { part, totalElements } = recipe;
  let doneElements = 0;
  recipe.build({
    g, weights: recipe.weights, precision: recipe.precision, quantKernel: recipe.quantKernel,
    onWeight: (tensor, n) => {
      doneElements = Math.min(totalElements, doneElements + n);
      recipe.onProgress?.({ part, tensor, doneElements, totalElements });
    },
  });
  g.save(path.join(outDir, 'model.onnx'));
}

/**
 * A build stopped by a signal or a crash leaves its temporary folder (a real model's is over a
 * gigabyte). Folders of processes that no longer exist are removed; a live process's are its own.
 */
function removeAbandonedBuilds(dir: string): void {
  const prefix = `${path.basename(dir)}.tmp-`;
  for (const name of fs.readdirSync(path.dirname(dir))) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !processExists(pid)) fs.rmSync(path.join(path.dirname(dir), name), { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
