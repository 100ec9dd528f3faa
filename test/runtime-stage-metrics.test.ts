// Counters stages publish about their own work (StageEnv.publishMetrics) reach
// Pipeline.stageMetrics(), keyed by stage and summed over the stage's workers;
// their log lines (StageEnv.log) reach the pipeline's logger, tagged.
import t from 'tap';
import { fixtureStage, startTestPipeline, waitFor } from './fixtures/stages/pipeline-helper.js';

t.test("each worker's latest counters are summed per stage", async (t) => {
  const pipeline = await startTestPipeline(t, {
    a: { plugin: fixtureStage('counting'), next: 'b', workers: 2 },
    b: { plugin: fixtureStage('echo') },
  });
  t.same(pipeline.stageMetrics!(), { a: {}, b: {} }, 'nothing published before any work');
  await Promise.all(Array.from({ length: 7 }, () => pipeline.submit({})));
  await waitFor(() => pipeline.stageMetrics!().a.items === 7);
  const { a, b } = pipeline.stageMetrics!();
  t.equal(a.workers, 2, 'both workers published (7 items at once keep both busy)');
  t.ok(a.batches >= 2 && a.batches <= 7, `7 items in ${a.batches} batches`);
  t.same(b, {}, 'a stage that publishes nothing has no counters');
  await pipeline.submit({});
  await waitFor(() => pipeline.stageMetrics!().a.items === 8);
  t.equal(pipeline.stageMetrics!().a.items, 8, 'a new publication replaces the worker\'s previous one instead of adding to it');
});

t.test("a stage's log lines reach the pipeline's logger with its stage and worker", async (t) => {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg?: string }> = [];
  const capture = (level: string) => (obj: unknown, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
  const pipeline = await startTestPipeline(t, { a: { plugin: fixtureStage('counting'), options: { log_level: 'warn' } } }, {}, logger);
  await pipeline.submit({});
  await pipeline.submit({});
  await waitFor(() => lines.filter((l) => l.msg === 'counted a batch').length === 2);
  const counted = lines.filter((l) => l.msg === 'counted a batch');
  t.ok(counted.every((l) => l.level === 'warn'), 'at the level the stage chose');
  t.match(counted[0].obj, { items: 1, stage: 'a', threadId: Number }, "the stage's fields, its name and its worker's thread");
});
