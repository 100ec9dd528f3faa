// The out-of-tree plugin example as a user builds it from a fresh clone: the
// package in examples/plugins/gain is copied out of the tree, linked to
// sgl-omni-ts as `npm install` links its file: dependency, compiled with tsc
// against the `sgl-omni-ts/plugin` declarations, then named by path and by
// package name in pipelines that run it in worker threads. A second module in the
// package decodes on the shared engine through `sgl-omni-ts/engine`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { ConfigError, loadPipelineConfig } from '../src/config/index.js';
import type { Payload } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import { frontEndSamples } from './fixtures/stages/front-end-samples.js';

const example = path.join(repoRoot(), 'examples', 'plugins', 'gain');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-plugin-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tsc(project: string): void {
  const r = spawnSync(process.execPath, [path.join(repoRoot(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { encoding: 'utf8', cwd: repoRoot() });
  if (r.status !== 0) throw new Error(`tsc -p ${project} failed:\n${r.stdout}${r.stderr}`);
}

// What `npm install && npm run build` does in the package, without the network.
const pkg = path.join(tmp, 'gain');
fs.cpSync(example, pkg, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
fs.mkdirSync(path.join(pkg, 'node_modules'));
fs.symlinkSync(repoRoot(), path.join(pkg, 'node_modules', 'sgl-omni-ts'), 'dir');
// A model plugin's use of the shared engine, compiled in the same package against `sgl-omni-ts/engine`:
// a toy decoder whose next token is always the last one + 1 (EOS 7), decoded on the BatchScheduler.
fs.writeFileSync(path.join(pkg, 'src', 'engine-use.ts'), `
import { BatchScheduler, runSegments, type DecoderRunner } from 'sgl-omni-ts/engine';
import type { ItemContext } from 'sgl-omni-ts/plugin';
const VOCAB = 8;
const last = new Map<number, number>();
const next = (id: number) => { const logits = new Float32Array(VOCAB); logits[(id + 1) % VOCAB] = 1; return logits; };
const runner: DecoderRunner = {
  maxSlots: 2, maxContext: 32, vocabSize: VOCAB,
  async prefill(slot, ids) { last.set(slot, ids[ids.length - 1]); return next(ids[ids.length - 1]); },
  async decode(slots, tokens) {
    const out = new Float32Array(slots.length * VOCAB);
    slots.forEach((slot, i) => { last.set(slot, tokens[i]); out.set(next(tokens[i]), i * VOCAB); });
    return out;
  },
  length: () => 0, release: (slot) => void last.delete(slot), dispose: async () => {},
};
export async function decodeTwo(): Promise<number[][]> {
  const scheduler = new BatchScheduler(runner, { eosIds: [7], embedTokenId: -1, prefillChunkTokens: 16 });
  const ctx: ItemContext = { id: 'r', emit() {}, cancelled: false, onCancel() {} };
  return runSegments(scheduler, {
    count: 2,
    sequence: (i) => ({ promptIds: Int32Array.of(i, i + 1), maxNewTokens: 10, temperature: 0, seed: 0 }),
    seam: () => '',
    result: (_i, out) => out.tokens,
  }, 2, ctx);
}
`);
tsc('tsconfig.plugin.json');
tsc(pkg);

const wav = fs.readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'audio', 'jfk.wav'));

async function run(file: string): Promise<Payload> {
  const pipeline = createPipeline(await loadPipelineConfig(file), { modelPath: '/models/none', cacheDir: '/tmp/cache' });
  try {
    await pipeline.ready();
    return await pipeline.submit({ audio: wav.buffer.slice(wav.byteOffset, wav.byteOffset + wav.byteLength), filename: 'jfk.wav', contentType: 'audio/wav', params: {} });
  } finally {
    await pipeline.close();
  }
}

t.test('a package compiles against sgl-omni-ts/engine and runs the shared scheduler', async (t) => {
  const { decodeTwo } = (await import(pathToFileURL(path.join(pkg, 'dist', 'engine-use.js')).href)) as { decodeTwo: () => Promise<number[][]> };
  t.same(await decodeTwo(), [[2, 3, 4, 5, 6], [3, 4, 5, 6]], 'each segment counts up to EOS');
});

t.test('the example pipeline runs the built package named by path: features of the audio at half gain', async (t) => {
  const out = await run(path.join(pkg, 'pipeline.yaml'));
  const halved = (await frontEndSamples(wav)).map((x) => x * 0.5);
  const [segment] = out.segments as { mel: Float32Array; frames: number }[];
  t.same(segment.mel, whisperLogMel(halved, 128).mel, 'mel of the samples × 0.5');
});

t.test('a pipeline elsewhere names it by package name, found in its node_modules', async (t) => {
  const app = path.join(tmp, 'app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.symlinkSync(pkg, path.join(app, 'node_modules', 'sgl-omni-example-gain'), 'dir');
  const yaml = (plugin: string, gain: number) =>
    `name: app\nroutes: [/v1/audio/features]\nentry: decode\nstages:\n  decode: { plugin: audio/decode, next: resample }\n  resample: { plugin: audio/resample, next: gain }\n  gain: { plugin: ${plugin}, next: mel, options: { gain: ${gain} } }\n  mel: { plugin: audio/whisper-mel }\n`;
  fs.writeFileSync(path.join(app, 'pipeline.yaml'), yaml('sgl-omni-example-gain', 0.5));
  const resolved = await loadPipelineConfig(path.join(app, 'pipeline.yaml'));
  t.equal(fs.realpathSync(resolved.stages[2].module), fs.realpathSync(path.join(pkg, 'dist', 'gain-stage.js')));
  t.equal(resolved.stages[2].descriptor?.name, 'example/gain');

  fs.writeFileSync(path.join(app, 'bad.yaml'), yaml('sgl-omni-example-gian', 20));
  const err = await loadPipelineConfig(path.join(app, 'bad.yaml')).catch((e: unknown) => e);
  t.ok(err instanceof ConfigError);
  t.match((err as Error).message, `unknown plugin 'sgl-omni-example-gian'. Looked for:`);
  t.match((err as Error).message, `a package named 'sgl-omni-example-gian' in: ${path.join(app, 'node_modules')}, ${path.join(tmp, 'node_modules')}`);
  fs.writeFileSync(path.join(app, 'loud.yaml'), yaml('sgl-omni-example-gain', 20));
  const loud = await loadPipelineConfig(path.join(app, 'loud.yaml')).catch((e: unknown) => e);
  t.match((loud as Error).message, 'loud.yaml:7:64: stages.gain.options.gain: must be <= 16 (got 20)', 'options checked against the package descriptor');
});

t.test('a plugin package the project depends on adds its serve flag (package.json "sgl-omni".serve_flags)', async (t) => {
  const app = path.join(tmp, 'flag-app');
  fs.mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  fs.symlinkSync(pkg, path.join(app, 'node_modules', 'sgl-omni-example-gain'), 'dir');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'flag-app', private: true, dependencies: { 'sgl-omni-example-gain': '*' } }));
  fs.writeFileSync(path.join(app, 'pipeline.yaml'), 'name: app\nroutes: [/v1/audio/features]\nentry: decode\nstages:\n  decode: { plugin: audio/decode, next: resample }\n  resample: { plugin: audio/resample, next: gain }\n  gain: { plugin: sgl-omni-example-gain, next: mel, options: { gain: 0.5 } }\n  mel: { plugin: audio/whisper-mel }\n');
  const cli = (args: string[], cwd: string) => spawnSync(process.execPath, [path.join(repoRoot(), 'bin', 'sgl-omni.js'), ...args], { encoding: 'utf8', cwd, timeout: 60_000 });
  const help = cli(['serve', '--help'], app);
  t.match(help.stdout, /--gain <FACTOR>\s+gain of the example\/gain stage/, 'listed in serve --help');
  t.notMatch(cli(['serve', '--help'], tmp).stdout, /--gain/, 'not where no project depends on the package');
  const loud = cli(['serve', '--pipeline', 'pipeline.yaml', '--gain', '20', '--port', '0'], app);
  t.equal(loud.status, 1);
  t.match(loud.stderr, /stages\.gain\.options\.gain: must be <= 16 \(got 20\)/, 'the flag sets the stage option, checked against the package descriptor');
});
