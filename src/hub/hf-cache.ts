// The standard Hugging Face hub cache, as huggingface_hub (Python) and
// @huggingface/hub lay it out, so a model downloaded by either is found here:
//   <cache>/models--Org--Name/refs/<branch>      → commit sha
//   <cache>/models--Org--Name/snapshots/<sha>/…  → files (symlinks into blobs/)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** HF_HUB_CACHE, else HUGGINGFACE_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE;
  return path.join(hfHome(env), 'hub');
}

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'huggingface');
}

/** The access token: HF_TOKEN, else the file `huggingface-cli login` writes. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (fromEnv) return fromEnv;
  try {
    return fs.readFileSync(env.HF_TOKEN_PATH ?? path.join(hfHome(env), 'token'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export function repoFolder(cacheDir: string, repoId: string): string {
  return path.join(cacheDir, ['models', ...repoId.split('/')].join('--'));
}

/** The snapshot folder a revision points at in the cache, or undefined when the cache has no such ref. */
export function cachedSnapshot(cacheDir: string, repoId: string, revision: string): string | undefined {
  const repo = repoFolder(cacheDir, repoId);
  let sha = revision;
  if (!COMMIT_SHA.test(revision)) {
    try {
      sha = fs.readFileSync(path.join(repo, 'refs', revision), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  const dir = path.join(repo, 'snapshots', sha);
  return fs.existsSync(dir) ? dir : undefined;
}

/** Records that `revision` (a branch or tag) is at `sha`, as huggingface_hub does after a download. */
export function writeRef(cacheDir: string, repoId: string, revision: string, sha: string): void {
  if (revision === sha) return;
  const ref = path.join(repoFolder(cacheDir, repoId), 'refs', revision);
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  fs.writeFileSync(ref, sha);
}

/** Files a model folder needs but lacks: config, tokenizer, and every safetensors shard its index names. */
export function missingModelFiles(dir: string): string[] {
  const has = (f: string) => fs.existsSync(path.join(dir, f));
  const missing: string[] = [];
  if (!has('config.json')) missing.push('config.json');
  if (!has('tokenizer.json') && !(has('vocab.json') && has('merges.txt'))) missing.push('tokenizer.json or vocab.json + merges.txt');
  if (has('model.safetensors.index.json')) {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    for (const shard of new Set(Object.values(index.weight_map ?? {}) as string[])) if (!has(shard)) missing.push(shard);
  } else if (!has('model.safetensors')) {
    missing.push('model.safetensors (or model.safetensors.index.json)');
  }
  return missing;
}
