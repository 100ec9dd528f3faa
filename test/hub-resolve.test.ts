// resolveModelPath against a mock Hugging Face Hub (an injected fetch serving a
// generated tiny checkpoint) and a temporary hub cache.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { makeCheckpoint } from '../stages/qwen3-asr/checkpoint/make-checkpoint.js';
import { isModelFile } from '../src/hub/download.js';
import { hubCacheDir } from '../src/hub/hf-cache.js';
import { resolveModelPath } from '../src/hub/resolve-model.js';

const REPO = 'TestOrg/Tiny-ASR';
const SHA = 'a'.repeat(39) + '1';
const ENDPOINT = 'https://hub.example';
const TOKEN = 'hf_secret';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-resolve-'));
t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
const source = path.join(root, 'source');
await makeCheckpoint({ size: 'tiny', out: source, seed: 5 });
fs.writeFileSync(path.join(source, 'README.md'), '# not needed\n');
fs.writeFileSync(path.join(source, 'pytorch_model.bin'), Buffer.alloc(64, 1));
const sourceFiles = fs.readdirSync(source);

interface Seen { method: string; url: string; auth: string | null; range: string | null }

/** A fetch answering the Hub API calls @huggingface/hub makes, from the files in `source`. */
function mockHub(seen: Seen[]): typeof fetch {
  const entry = (file: string) => {
    const body = fs.readFileSync(path.join(source, file));
    const oid = crypto.createHash('sha1').update(body).digest('hex');
    const lfs = file.endsWith('.safetensors') ? { oid: crypto.createHash('sha256').update(body).digest('hex'), size: body.length, pointerSize: 130 } : undefined;
    return { type: 'file', path: file, size: body.length, oid, lfs, body };
  };
  const json = (value: unknown) => new Response(JSON.stringify(value), { headers: { 'content-type': 'application/json' } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers = new Headers(init?.headers);
    const method = init?.method ?? 'GET';
    seen.push({ method, url: url.href, auth: headers.get('authorization'), range: headers.get('range') });
    if (url.origin !== ENDPOINT) return new Response('wrong host', { status: 500 });
    const p = decodeURIComponent(url.pathname);
    if (p === `/api/models/${REPO}/revision/main`) return json({ _id: 'x1', id: REPO, sha: SHA, lastModified: '2026-01-01T00:00:00Z' });
    if (p === `/api/models/${REPO}/tree/${SHA}`) return json(sourceFiles.map((f) => { const { body, ...e } = entry(f); return e; }));
    if (p === `/api/models/${REPO}/paths-info/${SHA}` && method === 'POST') {
      const { paths } = JSON.parse(String(init?.body));
      return json(paths.map((f: string) => { const { body, ...e } = entry(f); return { ...e, lastCommit: { id: SHA, title: 'upload', date: '2026-01-01T00:00:00Z' } }; }));
    }
    const prefix = `/${REPO}/resolve/${SHA}/`;
    if (p.startsWith(prefix)) {
      const e = entry(p.slice(prefix.length));
      const etag = { etag: `"${e.lfs?.oid ?? e.oid}"` };
      if (headers.get('range') === 'bytes=0-0') {
        return new Response(e.body.subarray(0, 1), { status: 206, headers: { ...etag, 'content-range': `bytes 0-0/${e.size}` } });
      }
      return new Response(e.body, { status: 200, headers: { ...etag, 'content-length': String(e.size) } });
    }
    return new Response('not found', { status: 404 });
  }) as typeof fetch;
}

const offline = (async () => {
  throw new TypeError('fetch failed: getaddrinfo ENOTFOUND');
}) as typeof fetch;

t.test('an existing folder is used as it is', async (t) => {
  t.equal(await resolveModelPath(path.relative(process.cwd(), source), { fetch: offline }), source);
  await t.rejects(resolveModelPath(path.join(source, 'config.json')), { code: 'ERR_MODEL_NOT_FOUND' }, 'a file is refused');
  await t.rejects(resolveModelPath('./no/such/model/dir'), { code: 'ERR_MODEL_NOT_FOUND', message: /no such folder/ });
});

t.test('a Hub id is downloaded once into the standard cache, then found offline', async (t) => {
  const hubCache = path.join(root, 'cache-download');
  const seen: Seen[] = [];
  const progress: [number, number, string][] = [];
  const env = { HF_ENDPOINT: ENDPOINT, HF_TOKEN: TOKEN };
  const dir = await resolveModelPath(REPO, { hubCache, env, fetch: mockHub(seen), onProgress: (d, total, f) => progress.push([d, total, f]) });

  t.equal(dir, path.join(hubCache, 'models--TestOrg--Tiny-ASR', 'snapshots', SHA));
  t.equal(fs.readFileSync(path.join(hubCache, 'models--TestOrg--Tiny-ASR', 'refs', 'main'), 'utf8'), SHA);
  const wanted = sourceFiles.filter(isModelFile).sort();
  t.same(fs.readdirSync(dir).sort(), wanted, 'only the files the model needs');
  t.notOk(wanted.includes('README.md') || wanted.includes('pytorch_model.bin'));
  for (const f of wanted) t.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(source, f))), `${f} bytes`);
  t.ok(fs.lstatSync(path.join(dir, 'config.json')).isSymbolicLink(), 'snapshot files link into blobs/ as in huggingface_hub');

  const totalBytes = wanted.reduce((s, f) => s + fs.statSync(path.join(source, f)).size, 0);
  t.same(progress.at(-1)!.slice(0, 2), [totalBytes, totalBytes], 'progress ends at the total');
  t.ok(progress.every(([d], i) => i === 0 || d >= progress[i - 1][0]), 'progress never goes back');
  t.ok(seen.every((r) => r.url.startsWith(ENDPOINT + '/')), 'HF_ENDPOINT is used');
  t.ok(seen.every((r) => r.auth === `Bearer ${TOKEN}`), 'HF_TOKEN is sent');
  t.notOk(seen.some((r) => r.url.includes('README.md') || r.url.includes('pytorch_model.bin')), 'unneeded files are not fetched');

  const again = await resolveModelPath(REPO, { hubCache, env, fetch: offline });
  t.equal(again, dir, 'second start needs no network');
});

t.test('a snapshot that huggingface_hub left in HF_HOME is found through refs/main', async (t) => {
  const home = path.join(root, 'hf-home');
  const snapshot = path.join(home, 'hub', 'models--TestOrg--Tiny-ASR', 'snapshots', SHA);
  fs.mkdirSync(path.join(home, 'hub', 'models--TestOrg--Tiny-ASR', 'refs'), { recursive: true });
  fs.cpSync(source, snapshot, { recursive: true });
  fs.writeFileSync(path.join(home, 'hub', 'models--TestOrg--Tiny-ASR', 'refs', 'main'), SHA + '\n');
  const env = { HF_HOME: home };
  t.equal(hubCacheDir(env), path.join(home, 'hub'));
  t.equal(hubCacheDir({ HF_HOME: home, HF_HUB_CACHE: '/elsewhere' }), '/elsewhere', 'HF_HUB_CACHE wins');
  t.equal(await resolveModelPath(REPO, { env, fetch: offline }), snapshot);
  t.equal(await resolveModelPath(REPO, { env, fetch: offline, revision: SHA }), snapshot, 'a commit revision needs no ref');
});

t.test('nothing cached and no network: the error says where it looked', async (t) => {
  const hubCache = path.join(root, 'cache-empty');
  const folder = path.join(hubCache, 'models--TestOrg--Tiny-ASR');
  await t.rejects(resolveModelPath(REPO, { hubCache, env: { HF_ENDPOINT: ENDPOINT }, fetch: offline, onProgress: () => {} }), {
    code: 'ERR_MODEL_DOWNLOAD',
    message: new RegExp(`${folder.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*${ENDPOINT}.*ENOTFOUND`),
  });
  await t.rejects(resolveModelPath(REPO, { hubCache, env: { HF_HUB_OFFLINE: '1' }, fetch: offline }), { code: 'ERR_MODEL_NOT_FOUND', message: /HF_HUB_OFFLINE/ });
  await t.rejects(resolveModelPath(REPO, { hubCache, allowDownload: false }), { code: 'ERR_MODEL_NOT_FOUND', message: /nothing in .*models--TestOrg--Tiny-ASR/ });
});

t.test('an incomplete cached snapshot is completed, not used', async (t) => {
  const hubCache = path.join(root, 'cache-partial');
  const snapshot = path.join(hubCache, 'models--TestOrg--Tiny-ASR', 'snapshots', SHA);
  fs.mkdirSync(path.join(hubCache, 'models--TestOrg--Tiny-ASR', 'refs'), { recursive: true });
  fs.writeFileSync(path.join(hubCache, 'models--TestOrg--Tiny-ASR', 'refs', 'main'), SHA);
  fs.mkdirSync(snapshot, { recursive: true });
  for (const f of ['config.json', 'vocab.json', 'merges.txt', 'model.safetensors.index.json']) fs.copyFileSync(path.join(source, f), path.join(snapshot, f));
  await t.rejects(resolveModelPath(REPO, { hubCache, allowDownload: false }), { message: /lacks model-00001-of-00002.safetensors, model-00002-of-00002.safetensors/ });
  const seen: Seen[] = [];
  t.equal(await resolveModelPath(REPO, { hubCache, env: { HF_ENDPOINT: ENDPOINT }, fetch: mockHub(seen), onProgress: () => {} }), snapshot);
  t.ok(fs.existsSync(path.join(snapshot, 'model-00002-of-00002.safetensors')));
  t.notOk(seen.some((r) => r.url.endsWith('/resolve/' + SHA + '/config.json') && r.range === null), 'files already there are not fetched again');
});
