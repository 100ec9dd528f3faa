// The output head as the official code picks it: where each layout keeps
// tie_word_embeddings and its default when absent, transformers' rule for a
// "-hf" checkpoint that stores a differing lm_head, and a tied checkpoint's
// stored lm_head never read by the converter.
import fs from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadQwen3AsrConfig } from '../stages/qwen3-asr/config.js';
import { convertModel } from '../stages/qwen3-asr/graph/convert.js';
import { EMBED, LM_HEAD } from '../stages/qwen3-asr/graph/names.js';
import { outputHead } from '../stages/qwen3-asr/graph/output-head.js';
import { tinyModel } from '../stages/qwen3-asr/reference/fixture.js';

const model = await tinyModel('qwen3-asr-graph-head');
const original = JSON.parse(fs.readFileSync(path.join(model.dir, 'config.json'), 'utf8'));

/** A config folder (no weights) with `edit` applied to the original config, in either layout. */
function configOf(name: string, layout: 'original' | 'hf', edit: (c: Record<string, any>) => void) {
  const dir = path.join(model.dir, '..', name);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['tokenizer_config.json', 'generation_config.json']) fs.copyFileSync(path.join(model.dir, f), path.join(dir, f));
  const c = structuredClone(original);
  const out = layout === 'original' ? c : { ...c.thinker_config, model_type: 'qwen3_asr' };
  edit(out);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(out));
  return loadQwen3AsrConfig(dir);
}

const source = (stored: string[], same: boolean) => ({ has: (n: string) => stored.includes(n), sameBytes: () => same });

t.test('original layout: thinker_config.text_config.tie_word_embeddings, false when absent', async (t) => {
  const tied = configOf('orig-tied', 'original', () => {});
  t.equal(outputHead(tied, source([EMBED, LM_HEAD], false)), EMBED, 'tied: embed_tokens even though a different lm_head is stored');
  const topOnly = configOf('orig-top', 'original', (c) => { delete c.thinker_config.text_config.tie_word_embeddings; c.tie_word_embeddings = true; });
  t.equal(outputHead(topOnly, source([EMBED, LM_HEAD], false)), LM_HEAD, 'a top-level flag is not where qwen-asr looks');
  const untied = configOf('orig-untied', 'original', (c) => { c.thinker_config.text_config.tie_word_embeddings = false; });
  t.equal(outputHead(untied, source([EMBED, LM_HEAD], true)), LM_HEAD);
  t.throws(() => outputHead(untied, source([EMBED], true)), { code: 'ERR_MODEL_CONFIG', message: /no thinker\.lm_head\.weight/ });
});

t.test('-hf layout: the top-level flag, true when absent; a stored head that differs stays untied', async (t) => {
  const absent = configOf('hf-absent', 'hf', (c) => { delete c.text_config.tie_word_embeddings; });
  t.equal(outputHead(absent, source(['model.language_model.embed_tokens.weight'], false)), EMBED, 'no lm_head stored (what save_pretrained writes)');
  t.equal(outputHead(absent, source(['lm_head.weight'], true)), EMBED, 'a stored copy of embed_tokens');
  t.equal(outputHead(absent, source(['lm_head.weight'], false)), LM_HEAD, 'transformers warns and keeps a differing lm_head');
  const untied = configOf('hf-untied', 'hf', (c) => { c.tie_word_embeddings = false; });
  t.equal(outputHead(untied, source(['lm_head.weight'], true)), LM_HEAD);
});

t.test("a tied checkpoint's stored lm_head is neither read nor converted", async (t) => {
  const tensors = new Set<string>();
  let last = { doneElements: 0, totalElements: -1 };
  await convertModel({ modelPath: model.dir, cacheDir: model.cacheDir, precision: 'int8', onProgress: (p) => { tensors.add(p.tensor); if (p.part === 'decoder') last = p; } });
  t.ok(tensors.has(EMBED));
  t.notOk(tensors.has(LM_HEAD), 'lm_head never read');
  t.equal(last.doneElements, last.totalElements, 'the progress total counts what is read');
});
