// The realtime handler's pieces on their own: server_vad turn detection on synthetic
// window probabilities (Silero's rule made incremental: 250 ms minimum speech,
// hysteresis at threshold - 0.15, silence_duration_ms to stop; events the same
// however the windows are split across pushes), the session's sample buffer, the
// float WAV a turn is submitted as (read back by the decode stage's WAV reader),
// session.update of both generations, the SGL_OMNI_REALTIME_* limits, and the
// route's load (behind: a turn overdue or the open audio past the lag at the
// measured capacity; the fraction shed), a shed session's turn queue (its open
// turns withdrawn) and the partial gate.
import t from 'tap';
import { Gauge, Registry } from 'prom-client';
import { DEFAULT_LIMITS, readLimits } from '../src/server/handlers/realtime/limits.js';
import { RealtimeLoad } from '../src/server/handlers/realtime/load.js';
import { PartialGate } from '../src/server/handlers/realtime/partials.js';
import type { Pipeline } from '../src/runtime/contracts.js';
import { SampleBuffer } from '../src/server/handlers/realtime/sample-buffer.js';
import { applyUpdate, defaultConfig } from '../src/server/handlers/realtime/session-config.js';
import { TurnDetector, type TurnEvent } from '../src/server/handlers/realtime/turn-detector.js';
import { floatWav } from '../src/server/handlers/realtime/turn.js';
import { TurnQueue } from '../src/server/handlers/realtime/turn-queue.js';
import { RealtimeMetrics } from '../src/server/handlers/realtime/metrics.js';
import { RealtimeError } from '../src/server/handlers/realtime/events.js';
import { Admission } from '../src/runtime/admission.js';
import { decodeWavSamples, readWavLayout } from '../stages/audio/wav.js';

const W = 512; // samples per window, 32 ms
const settings = { threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 };
/** Window probabilities: [value, windows] runs. */
const probs = (...runs: [number, number][]) => Float32Array.from(runs.flatMap(([p, n]) => Array(n).fill(p)));

t.test('turn detection: start after 250 ms of speech, stop after the silence, short bursts dropped', async (t) => {
  const d = new TurnDetector(settings);
  const events = d.push(probs([0.1, 10], [0.9, 5], [0.1, 10], [0.9, 40], [0.4, 5], [0.9, 5], [0.05, 20]));
  // 5 windows (160 ms) of speech are dropped; the 40-window run starts at window 25 and is
  // confirmed at its 8th window (256 ms); 0.4 is above 0.5 - 0.15, so it does not count as silence;
  // silence from window 75 stops it after 16 windows (512 ms ≥ 500 ms).
  t.same(events, [{ type: 'start', at: 25 * W }, { type: 'stop', at: 75 * W }]);
  t.notOk(d.speaking);
});

t.test('turn detection: the same events whichever way the windows are split', async (t) => {
  const all = probs([0.1, 7], [0.8, 30], [0.1, 3], [0.8, 10], [0.2, 30], [0.7, 12], [0.0, 17]);
  const whole = new TurnDetector(settings).push(all);
  for (const size of [1, 3, 7, 16]) {
    const d = new TurnDetector(settings);
    const split: TurnEvent[] = [];
    for (let at = 0; at < all.length; at += size) split.push(...d.push(all.subarray(at, at + size)));
    t.same(split, whole, `pushes of ${size} windows`);
  }
  t.equal(whole.length, 4, 'two turns: the 3-window dip does not end the first');
});

t.test('sample buffer: indices from the session start, take and drop', async (t) => {
  const b = new SampleBuffer();
  b.push(Float32Array.from([0, 1, 2]));
  b.push(Float32Array.from([3, 4]));
  b.push(Float32Array.from([5, 6, 7, 8]));
  b.dropBefore(2);
  t.same([b.start, b.end, b.length], [2, 9, 7]);
  t.same(Array.from(b.take(6)), [2, 3, 4, 5]);
  t.same([b.start, b.length], [6, 3]);
  b.keepLast(1);
  t.same(Array.from(b.take(100)), [8]);
  t.equal(b.length, 0);
});

t.test('a turn is a 16 kHz float WAV the decode stage reads back exactly', async (t) => {
  const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i / 7) * 0.8);
  const bytes = new Uint8Array(floatWav(samples));
  const layout = readWavLayout(bytes);
  t.match(layout, { sampleRate: 16000, channels: 1, bitsPerSample: 32 });
  t.same(decodeWavSamples(bytes, layout)[0], samples);
});

t.test('session.update: both generations read into one config; errors change nothing', async (t) => {
  const base = defaultConfig('m');
  t.same(applyUpdate(base, 'ga', { type: 'transcription', audio: { input: { format: { type: 'audio/pcmu' }, turn_detection: { type: 'server_vad', threshold: 0.7 }, transcription: { language: 'en', prompt: 'names' } } } }),
    { format: 'g711_ulaw', model: 'm', language: 'en', prompt: 'names', turnDetection: { threshold: 0.7, prefix_padding_ms: 300, silence_duration_ms: 500 } });
  t.same(applyUpdate(base, 'beta', { input_audio_format: 'g711_alaw', turn_detection: null, input_audio_transcription: { model: 'x' } }),
    { format: 'g711_alaw', model: 'x', turnDetection: null });
  t.throws(() => applyUpdate(base, 'ga', { type: 'realtime' }), { code: 'invalid_value', param: 'session.type' });
  t.throws(() => applyUpdate(base, 'ga', { type: 'transcription', audio: { input: { noise_reduction: { type: 'near_field' } } } }), { param: 'session.audio.input.noise_reduction', message: /not offered/ });
  t.throws(() => applyUpdate(base, 'beta', { turn_detection: { type: 'server_vad', silence_duration_ms: -1 } }), { param: 'session.turn_detection.silence_duration_ms', message: /must be >= 0/ });
  t.same(base, defaultConfig('m'), 'the session keeps its settings');
});

t.test('limits from the environment; a bad value names its variable', async (t) => {
  t.same(readLimits({}), DEFAULT_LIMITS);
  t.equal(readLimits({ SGL_OMNI_REALTIME_MAX_SESSIONS: '8' }).max_sessions, 8);
  t.throws(() => readLimits({ SGL_OMNI_REALTIME_IDLE_TIMEOUT_S: 'soon' }), /SGL_OMNI_REALTIME_IDLE_TIMEOUT_S must be a positive number \(got 'soon'\)/);
});

t.test('load: a turn is due max_turn_lag_s + turn_lag_rtf x its length after its commit', async (t) => {
  let now = 0;
  const load = new RealtimeLoad({ max_turn_lag_s: 10, turn_lag_rtf: 0.5 }, () => [], () => now);
  const owner = {};
  t.teardown(() => load.close());
  const short = load.track(4, owner); // due at 12 s
  now = 2000;
  const long = load.track(60, owner); // due at 2 + 40 = 42 s
  t.equal(load.oldestOpenS(), 2);
  now = 12_000;
  t.notOk(load.overdue, 'the 4 s turn is due at 12 s, not before');
  now = 12_001;
  t.ok(load.overdue);
  short();
  t.notOk(load.overdue, 'the long turn is not due yet');
  t.equal(load.oldestOpenS(), 10.001);
  long();
  t.equal(load.oldestOpenS(), 0);
});

t.test('load: while a turn is overdue, sheds the fraction 1 - answered/committed (at most half) of the last 2 x max_turn_lag_s', async (t) => {
  let now = 0;
  const [a, b, c, d] = [{}, {}, {}, {}];
  const sheds: number[] = [];
  let shedNext: object[] = [d];
  const load = new RealtimeLoad({ max_turn_lag_s: 10, turn_lag_rtf: 0 }, (fraction) => (sheds.push(fraction), shedNext), () => now);
  t.teardown(() => load.close());
  const stuck = load.track(5, a); // due at 10 s
  now = 5000;
  const answers = [load.track(5, b), load.track(5, c), load.track(5, d), load.track(5, b)];
  now = 8000;
  answers[0]();
  answers[1](); // 10 s answered of 25 s committed
  load.check();
  t.same(sheds, [], 'nothing overdue yet: nothing shed');
  now = 10_001;
  load.check();
  t.same(sheds, [0.5], 'overdue, 25 s committed and 10 s answered: 1 - 10/25 = 0.6, capped at half the sessions');
  now = 15_000;
  load.check();
  t.equal(sheds.length, 1, 'the next look is max_turn_lag_s after the shed');
  now = 20_001;
  const later = load.track(2, b);
  answers[2]();
  answers[3](); // 20 s answered; from 0.001 s the window holds 17 s committed by sessions not shed (a's 5 s left it, d's no longer count)
  load.check();
  t.equal(sheds.length, 1, '17 s committed, 20 s answered: still overdue, but no fraction to shed');
  const more = load.track(4, c);
  load.check();
  t.same(sheds.at(-1), 1 - 20 / 21, 'then 21 s against 20 s: the fraction 1/21');
  stuck();
  later();
  more();
  shedNext = [];
  const hung = load.track(1, a);
  now = 50_000;
  const last = load.track(3, b);
  load.check();
  t.same(sheds.at(-1), 0.5, 'nothing answered in the window: half');
  now = 55_000;
  load.check();
  t.equal(sheds.length, 4, 'a look that shed nothing does not hold off the next');
  hung();
  last();
});

t.test('load: behind before any turn is overdue once the open audio would outlast the lag at the measured capacity; sheds 1 - C/D, uncapped', async (t) => {
  let now = 0;
  const sheds: [number, { capacity?: number; demand: number; waitS: number }][] = [];
  const owners = Array.from({ length: 40 }, () => ({}));
  const load = new RealtimeLoad({ max_turn_lag_s: 10, turn_lag_rtf: 0.5 }, (fraction, why) => (sheds.push([fraction, why]), owners.slice(20)), () => now);
  t.teardown(() => load.close());
  const first = owners.slice(0, 3).map((owner) => load.track(5, owner));
  now = 2000;
  first.forEach((answered) => answered()); // 15 s answered in 2 busy seconds: C = 7.5 audio s/s
  now = 3000; // an idle second, which does not lower C
  t.notOk(load.behind, 'nothing open');
  const backlog = owners.map((owner) => load.track(5, owner)); // 200 s open: 26.7 s at C
  t.notOk(load.overdue, 'nothing is overdue (due at 15.5 s)');
  t.ok(load.behind, 'but the open audio would take longer than the lag');
  t.equal(load.figures().capacity, 7.5);
  load.check();
  const [[fraction, why]] = sheds;
  t.equal(why.demand, 21.5, '215 s committed over at least one lag (10 s): a first burst is not read as a lasting rate');
  t.equal(fraction, 1 - 7.5 / 21.5, 'C known: the fraction 1 - C/D, not capped at half');
  t.ok(fraction > 0.5);
  now = 4000;
  load.check();
  t.equal(sheds.length, 1, 'the next look is max_turn_lag_s later');
  backlog.slice(20).forEach((answered) => answered(false)); // the shed sessions' turns are withdrawn
  t.equal(load.figures().capacity, 15 / 3, 'withdrawn turns are no measure of capacity: 15 s answered in 3 busy seconds');
  t.equal(load.figures().waitS, 100 / 5, 'the 100 s left open would take 20 s');
  now = 7000;
  backlog.slice(0, 12).forEach((answered) => answered());
  t.equal(load.figures().capacity, 75 / 6);
  t.notOk(load.behind, '40 s left at 12.5 audio s/s: 3.2 s');
  backlog.slice(0, 20).forEach((answered) => answered());
});

t.test('turn queue: turns take the route\'s slots in commit order; a shed withdraws every open turn (decodes cancelled, waiting ones never sent), each failing with the reason in commit order, a streaming one after its deltas', async (t) => {
  // Each submit waits for the test; item_1 sends a delta first, as a decoder past prefill does.
  const submits: { id: string; signal: AbortSignal; finish(): void }[] = [];
  const pipeline = {
    submit: (payload: unknown, options: { id: string; signal: AbortSignal; onEvent(e: object): void }) =>
      new Promise((resolve, reject) => {
        options.signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
        submits.push({ id: options.id, signal: options.signal, finish: () => resolve({ text: 'hello there', language: 'English' }) });
        if (options.id === 'item_1') options.onEvent({ type: 'delta', delta: 'hello' });
      }),
  } as unknown as Pipeline;
  const sent: { type: string; item_id?: string; delta?: string; transcript?: string; error?: { code: string } }[] = [];
  const metrics = new RealtimeMetrics(new Registry(), 'test_');
  const log = { warn() {}, error() {} } as never;
  const answered: [number, boolean][] = [];
  const load = { track: (seconds: number) => (decoded = true) => answered.push([seconds, decoded]) };
  const turnSlots = new Admission({ max_running: 1, max_waiting: 10, retry_after_s: 1 });
  const queue = new TurnQueue({ pipeline, metrics, log, send: (e) => sent.push(e as never), session: new AbortController().signal, turnSlots }, 'ga', load, {});
  queue.commit('item_0', new Float32Array(16_000), defaultConfig('tiny'));
  await new Promise((resolve) => setImmediate(resolve));
  submits[0].finish();
  await queue.settled();
  for (const item of ['item_1', 'item_2']) queue.commit(item, new Float32Array(8_000), defaultConfig('tiny'));
  await new Promise((resolve) => setImmediate(resolve));
  t.same(submits.map((s) => s.id), ['item_0', 'item_1'], 'one slot: item_2 waits for it');
  t.same(turnSlots.counts, { running: 1, waiting: 1 });
  queue.withdrawAll(new RealtimeError('server_overloaded', 'behind', null, 'server_error'));
  t.same(submits.map((s) => s.signal.aborted), [false, true], 'the open decode is cancelled; the answered one is not touched');
  await queue.settled();
  const ends = sent.filter((e) => e.type.startsWith('conversation.item.input_audio_transcription.'));
  t.same(ends.map((e) => [e.type.split('.').pop(), e.item_id]), [['delta', 'item_0'], ['completed', 'item_0'], ['delta', 'item_1'], ['failed', 'item_1'], ['failed', 'item_2']]);
  t.match(ends[3], { error: { type: 'server_error', code: 'server_overloaded', message: 'behind' } });
  t.same(answered, [[1, true], [0.5, false], [0.5, false]], 'every turn answered to the load; the withdrawn ones as not decoded');
  t.equal(queue.open, 0);
  t.same(submits.map((s) => s.id), ['item_0', 'item_1'], 'the waiting turn was never sent');
  t.same(turnSlots.counts, { running: 0, waiting: 0 }, 'every slot given back');
});

t.test('partial gate: skipped at max_running, while requests wait, and while a turn is open longer than yield_s', async (t) => {
  let waiting = 0;
  let oldest = 0;
  const pipeline = { admissionCounts: () => ({ running: 0, waiting }) } as unknown as Pipeline;
  const gauge = new Gauge({ name: 'partials_running', help: 'test', registers: [new Registry()] });
  const gate = new PartialGate({ pipeline, maxRunning: 2, gauge, load: { oldestOpenS: () => oldest }, yieldS: 2 });
  t.ok(gate.tryAcquire());
  t.ok(gate.tryAcquire());
  t.notOk(gate.tryAcquire(), 'two running: the third is skipped');
  gate.release();
  waiting = 1;
  t.notOk(gate.tryAcquire(), 'a request waits for admission');
  waiting = 0;
  oldest = 2.5;
  t.notOk(gate.tryAcquire(), 'a committed turn has been open 2.5 s, longer than one partial interval');
  oldest = 1.5;
  t.ok(gate.tryAcquire());
  t.equal((await gauge.get()).values[0].value, 2);
});

t.test('partial back-off: the interval doubles while most partials are cut short by their turn, halves back when few are', async (t) => {
  const pipeline = { admissionCounts: () => ({ running: 0, waiting: 0 }) } as unknown as Pipeline;
  const registry = new Registry();
  const gauge = new Gauge({ name: 'partials_running', help: 'test', registers: [registry] });
  const backoffGauge = new Gauge({ name: 'partial_backoff', help: 'test', registers: [registry] });
  const gate = new PartialGate({ pipeline, maxRunning: 4, gauge, backoffGauge, load: { oldestOpenS: () => 0 }, yieldS: 2 });
  const run = (ends: ('completed' | 'cancelled' | 'failed' | undefined)[]) => ends.forEach((end) => (gate.tryAcquire(), gate.release(end)));
  const cut = (n: number, of = 12) => [...Array(n).fill('cancelled'), ...Array(of - n).fill('completed')];
  run(cut(5, 11).reverse()); // 6 used, then 5 cut short
  t.equal(gate.backoff, 1, 'fewer than 12 partials: no verdict');
  run(['cancelled']);
  t.equal(gate.backoff, 1, '6 of 12 cut short: not more than used');
  run(['cancelled']);
  t.equal(gate.backoff, 2, 'the window slides: 7 of the last 12 cut short, the interval doubles');
  run([...Array(12).fill(undefined), ...Array(12).fill('failed')]);
  t.equal(gate.backoff, 2, 'partials of sessions that went away, and failed ones, do not count');
  run(cut(12));
  t.equal(gate.backoff, 4);
  run(cut(12));
  t.equal(gate.backoff, 4, 'at most 4x');
  run(cut(5));
  t.equal(gate.backoff, 4, '5 of 12: between a third and a half, it stays');
  run(cut(4).reverse());
  t.equal(gate.backoff, 2, '4 of the last 12: it halves');
  run(cut(0));
  t.equal(gate.backoff, 1);
  t.equal((await backoffGauge.get()).values[0].value, 1);
  t.equal((await gauge.get()).values[0].value, 0, 'every partial released');
});
