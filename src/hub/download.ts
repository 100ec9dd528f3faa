// Downloads the files a model needs from the Hugging Face Hub into the standard
// cache with @huggingface/hub. The revision is pinned to one commit first: given
// a branch name, downloadFileToCacheDir files each file under its own last
// commit, which would scatter one model over several snapshot folders.
import fs from 'node:fs';
import path from 'node:path';
import { downloadFileToCacheDir, listFiles, modelInfo, type ListFileEntry } from '@huggingface/hub';
import { repoFolder, writeRef } from './hf-cache.js';

export interface DownloadOptions {
  repoId: string;
  revision: string;
  cacheDir: string;
  hubUrl: string;
  accessToken?: string;
  fetch?: typeof fetch;
  /** Bytes written so far over the bytes of all files to fetch (files already cached count as done). */
  onProgress?: (doneBytes: number, totalBytes: number, file: string) => void;
}

const PROGRESS_POLL_MS = 250;

/** Top-level configs, tokenizer files, chat templates and safetensors weights; not READMEs, images or other weight formats. */
export function isModelFile(file: string): boolean {
  return !file.includes('/') && (/\.(json|safetensors|jinja)$/.test(file) || file === 'merges.txt');
}

/** Downloads what is missing and returns the snapshot folder. */
export async function downloadModel(opts: DownloadOptions): Promise<string> {
  const credentials = opts.accessToken ? { accessToken: opts.accessToken } : {};
  const common = { hubUrl: opts.hubUrl, fetch: opts.fetch, ...credentials };
  const info = await modelInfo({ name: opts.repoId, revision: opts.revision, additionalFields: ['sha'], ...common });
  const sha = info.sha;
  if (!sha) throw new Error(`the Hub did not report a commit for ${opts.repoId}@${opts.revision}`);

  const files: ListFileEntry[] = [];
  for await (const entry of listFiles({ repo: { type: 'model', name: opts.repoId }, revision: sha, ...common })) {
    if (entry.type === 'file' && isModelFile(entry.path)) files.push(entry);
  }
  if (!files.some((f) => f.path === 'config.json')) throw new Error(`${opts.repoId} has no config.json: not a model repository this server can load`);

  const total = files.reduce((sum, f) => sum + f.size, 0);
  let done = 0;
  for (const file of files) {
    const stop = watchIncomplete(opts, file, (bytes) => opts.onProgress?.(done + bytes, total, file.path));
    try {
      await withoutDebugOutput(() =>
        downloadFileToCacheDir({ repo: { type: 'model', name: opts.repoId }, path: file.path, revision: sha, cacheDir: opts.cacheDir, ...common }),
      );
    } finally {
      stop();
    }
    done += file.size;
    opts.onProgress?.(done, total, file.path);
  }
  writeRef(opts.cacheDir, opts.repoId, opts.revision, sha);
  return path.join(repoFolder(opts.cacheDir, opts.repoId), 'snapshots', sha);
}

/**
 * Reports the size of the blob being written. The cache writes a file to
 * blobs/<etag>.incomplete and renames it when complete, whatever the transfer
 * protocol (plain, LFS or Xet), so its size is the file's progress.
 */
function watchIncomplete(opts: DownloadOptions, file: ListFileEntry, report: (bytes: number) => void): () => void {
  if (!opts.onProgress) return () => {};
  const etag = file.lfs?.oid ?? file.xetHash ?? file.oid;
  if (!etag) return () => {};
  const incomplete = path.join(repoFolder(opts.cacheDir, opts.repoId), 'blobs', `${etag}.incomplete`);
  const timer = setInterval(() => {
    fs.stat(incomplete, (err, st) => {
      if (!err) report(st.size);
    });
  }, PROGRESS_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * @huggingface/hub announces every file with console.debug, which Node writes to
 * stdout: a stray non-JSON line in the server's pino log and a break in the bar.
 * Downloads run before the server starts, so nothing else is silenced meanwhile.
 */
async function withoutDebugOutput<T>(run: () => Promise<T>): Promise<T> {
  const debug = console.debug;
  console.debug = () => {};
  try {
    return await run();
  } finally {
    console.debug = debug;
  }
}
