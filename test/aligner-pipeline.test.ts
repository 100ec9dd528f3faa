// pipelines/qwen3-asr-aligned.yaml is what `serve --aligner-path` runs in place of
// pipelines/qwen3-asr.yaml, so it must be that pipeline plus the aligner and
// nothing else: same routes, admission and drain, every stage as written there
// (VAD, decode budget, decoder slots…), only keep-audio spliced in after
// resample and align after the decoder. A change to qwen3-asr.yaml that is not
// carried over fails here (the aligned copy had lost the VAD stage and the
// decode budget once). And no front end of an aligned pipeline may cut
// segments longer than the aligner takes (180 s): config check refuses it.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import YAML from 'yaml';
import { loadPipelineConfig } from '../src/config/load.js';
import { repoRoot } from '../src/util/paths.js';

type Stage = { plugin: string; next?: string; [key: string]: unknown };
type Pipeline = { name: string; stages: Record<string, Stage>; [key: string]: unknown };
const read = (name: string) => YAML.parse(fs.readFileSync(path.join(repoRoot(), 'pipelines', name), 'utf8')) as Pipeline;
const asr = read('qwen3-asr.yaml');
const aligned = read('qwen3-asr-aligned.yaml');

t.test('everything but the stages is qwen3-asr.yaml\'s', async (t) => {
  const { name: _a, stages: _s, ...rest } = aligned;
  const { name: _b, stages: _t, ...base } = asr;
  t.same(rest, base);
});

t.test('the stages are qwen3-asr.yaml\'s, keep after resample and align after the decoder', async (t) => {
  const { keep, align, ...others } = aligned.stages;
  t.same(Object.keys(others), Object.keys(asr.stages), 'the same stages in the same order');
  t.match(keep, { plugin: 'qwen3-forced-aligner/keep-audio', next: asr.stages.resample.next });
  t.match(align, { plugin: 'qwen3-forced-aligner/aligner', options: { mode: 'on_request' } });
  t.notOk('model_path' in (align.options as object), 'no model_path: the served model is the aligner unless --aligner-path sets one');
  t.notOk('next' in align, 'align ends the graph');
  const last = Object.entries(asr.stages).find(([, s]) => s.next === undefined)![0];
  for (const [name, stage] of Object.entries(asr.stages)) {
    const rewired = name === 'resample' ? { ...stage, next: 'keep' } : name === last ? { ...stage, next: 'align' } : stage;
    t.same(others[name], rewired, name);
  }
});

t.test('segments longer than the aligner takes are a config error, naming the field', async (t) => {
  const file = path.join(repoRoot(), 'pipelines', 'qwen3-asr-aligned.yaml');
  await t.rejects(loadPipelineConfig(file, { overrides: [['stages.features.options.max_segment_s', '181']] }), {
    message: /stages\.features\.options\.max_segment_s: qwen3-forced-aligner\/aligner requires .*max_segment_s <= 180.*at most 180 s of audio at once/,
  });
  await t.resolves(loadPipelineConfig(file, { overrides: [['stages.features.options.max_segment_s', '180']] }), '180 s is the official limit');
  await t.resolves(loadPipelineConfig(path.join(repoRoot(), 'pipelines', 'qwen3-forced-aligner.yaml')), 'a pipeline with no features stage is not concerned');
});
