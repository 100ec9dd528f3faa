// An empty string where a config needs a name or a path is a config error at its
// file:line:col, not "unset": `--aligner-path ''` (or model_path: "" in YAML) used
// to mean "the served model is the aligner" and loaded the ASR checkpoint as one;
// an empty entry, next or route handler was reported as an unknown stage or handler.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readManifestFile } from '../src/config/descriptors.js';
import { ConfigError, loadPipelineConfig } from '../src/config/index.js';
import { repoRoot } from '../src/util/paths.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'config-empty-'));
t.teardown(() => fs.rmSync(tmp, { recursive: true, force: true }));
const aligned = path.join(repoRoot(), 'pipelines', 'qwen3-asr-aligned.yaml');

async function loadError(file: string, overrides?: [string, string][]): Promise<string> {
  const err = await loadPipelineConfig(file, { overrides }).then(() => undefined, (e: unknown) => e);
  if (!(err instanceof ConfigError)) throw new Error(`${file}: expected a ConfigError, got ${String(err)}`);
  return err.message;
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

t.test('the aligner: model_path not set = the served model; set empty = an error naming the field', async (t) => {
  const unset = await loadPipelineConfig(aligned);
  t.equal(unset.stages.find((s) => s.name === 'align')?.needsModel, true, 'not set: the served model is the aligner');
  t.notOk('model_path' in (unset.config.stages.align.options as object), 'no default filled in');
  const own = await loadPipelineConfig(aligned, { overrides: [['stages.align.options.model_path', 'Qwen/Qwen3-ForcedAligner-0.6B']] });
  t.equal(own.stages.find((s) => s.name === 'align')?.needsModel, false, 'its own checkpoint');
  for (const empty of ["''", '""']) {
    t.match(await loadError(aligned, [['stages.align.options.model_path', empty]]),
      `stages.align.options.model_path: must not be empty (got "") (from override --stages.align.options.model_path ${empty})`);
  }
  // `serve --aligner-path ''` sets the override to nothing at all, which YAML reads as null
  t.match(await loadError(aligned, [['stages.align.options.model_path', '']]), 'stages.align.options.model_path: must be string (got null)');
});

t.test('model_path: "" in YAML is refused at its line and column (aligner and VAD)', async (t) => {
  const file = write('empty-model.yaml', [
    'name: empty-model',
    'routes: [/v1/audio/features]',
    'entry: decode',
    'stages:',
    '  decode: { plugin: audio/decode, next: resample }',
    '  resample: { plugin: audio/resample, next: vad }',
    '  vad:',
    '    plugin: silero-vad/vad',
    '    next: mel',
    '    options: { model_path: "" }',
    '  mel: { plugin: audio/whisper-mel }',
    '',
  ].join('\n'));
  t.match(await loadError(file), `${file}:10:16: stages.vad.options.model_path: must not be empty (got "")`);
});

t.test('empty entry, next and route handler: "must not be empty" at file:line:col', async (t) => {
  const file = write('empty-names.yaml', [
    'name: empty-names',
    'routes:',
    '  - { path: /v1/audio/features, handler: "" }',
    'entry: ""',
    'stages:',
    '  decode: { plugin: audio/decode, next: "" }',
    '',
  ].join('\n'));
  const message = await loadError(file);
  t.match(message, `${file}:3:33: routes.0.handler: must not be empty (got "")`);
  t.match(message, `${file}:4:1: entry: must not be empty (got "")`);
  t.match(message, `${file}:6:35: stages.decode.next: must not be empty (got "")`);
});

t.test('a folder manifest: an empty serve flag description or switch target is refused where it is', async (t) => {
  const file = write('sgl-omni.yaml', [
    'serve_flags:',
    '  gain-db:',
    '    value: DB',
    '    description: ""',
    '    sets: stages.gain.options.gain',
    '    switch: { ./a.yaml: "" }',
    '',
  ].join('\n'));
  const err = (() => {
    try {
      readManifestFile(file);
    } catch (e) {
      return e as Error;
    }
  })();
  t.ok(err instanceof ConfigError);
  t.match(err?.message, `${file}:4:5: serve_flags.gain-db.description: must not be empty (got "")`);
  t.match(err?.message, /:6:5: serve_flags\.gain-db\.switch\.\.\/a\.yaml: must not be empty \(got ""\)/);
});
