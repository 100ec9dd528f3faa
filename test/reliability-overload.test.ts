// Overload over HTTP: at 4x capacity (2 running + 2 waiting, 16 at once) the
// excess is refused with 503 + Retry-After before any accepted request
// finishes, every accepted request completes, each round admits exactly as
// many as the first (no slot leaks), queues end empty and RSS stays bounded.
import t from 'tap';
import { startScriptServer } from './fixtures/server/script-server.js';
import { waitFor } from './fixtures/stages/pipeline-helper.js';

const CAPACITY = { max_running: 2, max_waiting: 2 };
const OFFERED = 4 * (CAPACITY.max_running + CAPACITY.max_waiting);
const ROUNDS = 4;
const RSS_BOUND_MB = 150;

interface Outcome {
  status: number;
  retryAfter: string | null;
  body: { text?: string; error?: { code: string; type: string; message: string } };
  /** Order in which answers arrived across the round. */
  arrival: number;
}

t.test('4x capacity: quick 503s with Retry-After, accepted all complete, memory and queues bounded', async (t) => {
  const server = await startScriptServer(t, {
    // Two items run at once in the worker, each held 1.5 s: the waiting two run second.
    stage: { concurrency: 2, options: { hold_ms: 1500 } },
    pipeline: { admission: { ...CAPACITY, retry_after_s: 7 } },
  });

  const round = async (): Promise<Outcome[]> => {
    let arrivals = 0;
    return Promise.all(
      Array.from({ length: OFFERED }, async () => {
        const res = await server.transcribe();
        const arrival = arrivals++;
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json(), arrival };
      }),
    );
  };

  let rssAfterFirst = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const outcomes = await round();
    const accepted = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status !== 200);
    t.equal(accepted.length, CAPACITY.max_running + CAPACITY.max_waiting, `round ${r}: running + waiting were accepted`);
    t.ok(accepted.every((o) => o.body.text?.startsWith('held 12 bytes on thread ')), `round ${r}: every accepted request completed`);
    t.ok(refused.every((o) => o.status === 503 && o.retryAfter === '7'), `round ${r}: the rest got 503 with Retry-After`);
    t.match(refused[0].body, { error: { code: 'overloaded', type: 'server_error', message: 'server is at capacity (2 running, 2 waiting)' } });
    const lastRefusal = Math.max(...refused.map((o) => o.arrival));
    const firstCompletion = Math.min(...accepted.map((o) => o.arrival));
    t.ok(lastRefusal < firstCompletion, `round ${r}: every refusal arrived before the first accepted request finished`);
    if (r === 0) rssAfterFirst = process.memoryUsage().rss;
  }
  const growthMb = (process.memoryUsage().rss - rssAfterFirst) / 2 ** 20;
  t.ok(growthMb < RSS_BOUND_MB, `RSS grew ${growthMb.toFixed(1)} MB over ${ROUNDS - 1} rounds (bound ${RSS_BOUND_MB} MB)`);

  await waitFor(() => server.pipeline.stats().every((s) => s.queued === 0 && s.running === 0));
  t.same(server.pipeline.admissionCounts!(), { running: 0, waiting: 0 }, 'no admission slot or waiting place is left taken');
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  t.match(metrics, /^sgl_omni_stage_queued\{stage="a"\} 0$/m, 'the stage queue gauge is back to 0');
  t.match(metrics, /^sgl_omni_stage_running\{stage="a"\} 0$/m);
  t.match(metrics, new RegExp(`^sgl_omni_stage_completed\\{stage="a"\\} ${ROUNDS * 4}$`, 'm'), 'only accepted requests reached the stage');
  t.match(metrics, new RegExp(`^sgl_omni_http_requests_total\\{method="POST",route="/v1/audio/transcriptions",status="503"\\} ${ROUNDS * (OFFERED - 4)}$`, 'm'));
});
