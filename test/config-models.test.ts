// serve's default pipeline comes from the checkpoint's config.json architectures.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { pipelineForModel } from '../src/config/models.js';
import { repoRoot } from '../src/util/paths.js';

function checkpoint(t: { teardown(fn: () => void): void }, config: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgl-omni-model-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  if (config !== undefined) fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

t.test('Qwen3-ASR checkpoints get pipelines/qwen3-asr.yaml', async (t) => {
  const dir = checkpoint(t, { architectures: ['Qwen3ASRForConditionalGeneration'] });
  t.equal(pipelineForModel(dir), path.join(repoRoot(), 'pipelines', 'qwen3-asr.yaml'));
});

t.test('unknown architectures and missing config.json name the fix', async (t) => {
  const other = checkpoint(t, { architectures: ['WhisperForConditionalGeneration'] });
  t.throws(() => pipelineForModel(other), {
    code: 'ERR_NO_PIPELINE',
    message: `no pipeline for architectures ["WhisperForConditionalGeneration"] in ${path.join(other, 'config.json')} (known: Qwen3ASRForConditionalGeneration, Qwen3ASRForTokenClassification); pass --pipeline FILE`,
  });
  const empty = checkpoint(t, undefined);
  t.throws(() => pipelineForModel(empty), { code: 'ERR_NO_PIPELINE', message: /config\.json is unreadable .*; pass --pipeline FILE$/ });
});
