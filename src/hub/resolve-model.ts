// --model-path → a local checkpoint folder. A folder that exists is used as is;
// otherwise the value is a Hub id (Org/Name) looked up in the standard Hugging
// Face cache, and downloaded into it when missing and allowed.
import fs from 'node:fs';
import path from 'node:path';
import { downloadModel } from './download.js';
import { downloadProgress } from './download-progress.js';
import { cachedSnapshot, hubCacheDir, hubToken, missingModelFiles, repoFolder } from './hf-cache.js';

export const ERR_MODEL_NOT_FOUND = 'ERR_MODEL_NOT_FOUND';
export const ERR_MODEL_DOWNLOAD = 'ERR_MODEL_DOWNLOAD';

export class ModelResolveError extends Error {
  constructor(readonly code: typeof ERR_MODEL_NOT_FOUND | typeof ERR_MODEL_DOWNLOAD, message: string) {
    super(message);
  }
}

export interface ResolveModelOptions {
  /** What the user gave the value as, for messages (default "--model-path"). */
  label?: string;
  /** Fetch missing models from the Hub (default: yes, unless HF_HUB_OFFLINE=1). */
  allowDownload?: boolean;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Hub cache folder (default: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub). */
  hubCache?: string;
  /** Download progress; default: a progress bar on a terminal, a line per file otherwise. */
  onProgress?: (doneBytes: number, totalBytes: number, file: string) => void;
  /** Replaces global fetch for Hub requests (tests, proxies). */
  fetch?: typeof fetch;
  logger?: { info(obj: object, msg: string): void };
  env?: NodeJS.ProcessEnv;
}

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const DEFAULT_ENDPOINT = 'https://huggingface.co';

export async function resolveModelPath(pathOrId: string, opts: ResolveModelOptions = {}): Promise<string> {
  const label = opts.label ?? '--model-path';
  const local = path.resolve(pathOrId);
  if (fs.existsSync(local)) {
    if (!fs.statSync(local).isDirectory()) throw new ModelResolveError(ERR_MODEL_NOT_FOUND, `${label} ${pathOrId} is a file; expected a checkpoint folder or a Hub id`);
    return local;
  }
  if (!HUB_ID.test(pathOrId)) {
    throw new ModelResolveError(ERR_MODEL_NOT_FOUND, `${label} ${pathOrId}: no such folder (${local}), and not a Hub id of the form Org/Name`);
  }
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  const cacheDir = opts.hubCache ?? hubCacheDir(env);
  const cached = cachedSnapshot(cacheDir, pathOrId, revision);
  const missing = cached ? missingModelFiles(cached) : [];
  if (cached && missing.length === 0) {
    opts.logger?.info({ model: pathOrId, path: cached }, 'using the Hugging Face cache');
    return cached;
  }

  const where = cached ? `${cached} lacks ${missing.join(', ')}` : `nothing in ${repoFolder(cacheDir, pathOrId)}`;
  const allowDownload = opts.allowDownload ?? !['1', 'true', 'yes'].includes((env.HF_HUB_OFFLINE ?? '').toLowerCase());
  if (!allowDownload) {
    throw new ModelResolveError(ERR_MODEL_NOT_FOUND, `model ${pathOrId} is not a local folder and not downloaded (${where}); downloads are off (HF_HUB_OFFLINE)`);
  }
  const hubUrl = (env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  opts.logger?.info({ model: pathOrId, revision, hubUrl, cacheDir }, 'downloading the model from the Hugging Face Hub');
  const bar = opts.onProgress ? undefined : downloadProgress(`download ${pathOrId}`);
  try {
    const dir = await downloadModel({
      repoId: pathOrId,
      revision,
      cacheDir,
      hubUrl,
      accessToken: hubToken(env),
      fetch: opts.fetch,
      onProgress: opts.onProgress ?? bar!.update,
    });
    const stillMissing = missingModelFiles(dir);
    if (stillMissing.length > 0) throw new Error(`the repository has no ${stillMissing.join(', ')}`);
    return dir;
  } catch (err) {
    throw new ModelResolveError(
      ERR_MODEL_DOWNLOAD,
      `model ${pathOrId} is not a local folder and not in the Hugging Face cache (${where}); downloading it from ${hubUrl} failed: ${(err as Error).message}. ` +
        'Pass a checkpoint folder, or fill the cache on a machine with network access (HF_HUB_CACHE / HF_HOME choose the folder).',
    );
  } finally {
    bar?.stop();
  }
}
