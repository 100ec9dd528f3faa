// Issue 15's "done when" on real speech, from a fresh clone: a 33.8 s recording of LibriVox
// utterances joined with known silences and noise (test/fixtures/vad/librivox.ts, the
// utterances copied from pocketsphinx-testdata) sent to POST /v1/audio/transcriptions on the
// tiny server with chunking_strategy. auto: one segment per utterance, every boundary in a
// known silence, within a tolerance of where the speech starts and ends (error in ms, printed),
// the silent stretches skipped; server_vad's three parameters change the segments as
// documented; auto's loudness normalisation holds the cuts of a recording 30 dB too quiet.
import t from 'tap';
import { buildWav } from './fixtures/audio/wav-writer.js';
import { startTinyServer } from './fixtures/server/tiny-server.js';
import { RATE } from './fixtures/vad/long-audio.js';
import { joinUtterances, readUtterances } from './fixtures/vad/librivox.js';

const recording = joinUtterances(readUtterances());
const { utterances, gaps } = recording;
const duration = recording.samples.length / RATE;
/** vad.plugin.yaml / regions.ts: 300 ms kept before speech (default), 100 ms after it. */
const PREFIX_S = 0.3;
const TAIL_S = 0.1;

function wavOf(samples: Float32Array, gain = 1): Blob {
  const data = Int16Array.from(samples, (x) => Math.max(-32768, Math.min(32767, Math.round(x * gain * 32768))));
  return new Blob([buildWav({ formatTag: 1, channels: 1, sampleRate: RATE, bits: 16, data: new Uint8Array(data.buffer) }).slice()], { type: 'audio/wav' });
}
const loud = wavOf(recording.samples);
const quiet = wavOf(recording.samples, 10 ** (-30 / 20));

const server = await startTinyServer();
t.teardown(() => server.close());

type Segment = { start: number; end: number };
async function segments(fields: [string, string][], file = loud): Promise<Segment[]> {
  const form = new FormData();
  form.append('file', file, 'librivox-long.wav');
  for (const [name, value] of [['response_format', 'verbose_json'], ['language', 'en'], ['max_new_tokens', '4'], ...fields]) form.append(name, value);
  const res = await fetch(`${server.base}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const body = (await res.json()) as { segments: Segment[]; duration: number };
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  return body.segments;
}
const serverVad = (fields: Record<string, number>) => [['chunking_strategy', JSON.stringify({ type: 'server_vad', ...fields })]] as [string, string][];
const ms = (s: number) => `${Math.round(s * 1000)} ms`;
const spoken = (segs: Segment[]) => segs.reduce((sum, s) => sum + s.end - s.start, 0);
/** The known stretch without speech that `time` lies in: a gap, or the clip's own quiet edges around it. */
const inSilence = (time: number) => gaps.some((g, i) => time >= (utterances[i - 1]?.speechEnd ?? 0) && time <= (utterances[i]?.speechStart ?? duration) && time >= g.start - 0.5 && time <= g.end + 0.5);

t.test('auto: one segment per utterance, boundaries in the known silences, gaps skipped', async (t) => {
  const segs = await segments([['chunking_strategy', 'auto']]);
  t.equal(segs.length, utterances.length, `${segs.length} segments for ${utterances.length} utterances`);
  const startErr: number[] = [];
  const endErr: number[] = [];
  segs.forEach((s, i) => {
    const u = utterances[i];
    t.ok(inSilence(s.start) && inSilence(s.end), `segment ${i} (${s.start.toFixed(2)}-${s.end.toFixed(2)} s) starts and ends where no one speaks`);
    startErr.push(s.start + PREFIX_S - u.speechStart);
    endErr.push(s.end - TAIL_S - u.speechEnd);
  });
  t.comment(`start error (segment start + 300 ms padding − speech onset): ${startErr.map(ms).join(', ')}`);
  t.comment(`end error (segment end − 100 ms tail − speech offset): ${endErr.map(ms).join(', ')}`);
  // Measured: starts within 30 ms, ends 200-600 ms late (Silero's probability decays after the
  // last word; the region ends where it first drops under threshold - 0.15).
  for (const e of startErr) t.ok(Math.abs(e) <= 0.1, `start error ${ms(e)} within ±100 ms`);
  for (const e of endErr) t.ok(e >= -0.1 && e <= 0.75, `end error ${ms(e)} within -100..+750 ms`);
  const skipped = 1 - spoken(segs) / duration;
  const silent = gaps.reduce((sum, g) => sum + g.end - g.start, 0) / duration;
  t.comment(`skipped ${(100 * skipped).toFixed(1)}% of the audio; the joins are ${(100 * silent).toFixed(1)}% of it`);
  t.ok(skipped >= silent - 0.1, 'all the joins but their padding are skipped');
});

t.test('server_vad silence_duration_ms: 3000 only cuts at the 4 s joins, pairing the utterances', async (t) => {
  const segs = await segments(serverVad({ silence_duration_ms: 3000 }));
  t.equal(segs.length, 3);
  segs.forEach((s, i) => {
    t.ok(s.start < utterances[2 * i].speechStart && s.end > utterances[2 * i + 1].speechEnd, `segment ${i} holds utterances ${2 * i} and ${2 * i + 1}`);
    t.ok(inSilence(s.start) && inSilence(s.end), `and is cut in silence (${s.start.toFixed(2)}-${s.end.toFixed(2)} s)`);
  });
});

t.test('server_vad prefix_padding_ms: segments start that much earlier', async (t) => {
  // 250 ms keeps the padded regions over 1 s apart; closer ones share a segment (whisper-mel's MAX_KEPT_PAUSE_S).
  const none = await segments(serverVad({ prefix_padding_ms: 0 }));
  const more = await segments(serverVad({ prefix_padding_ms: 250 }));
  t.equal(more.length, none.length);
  none.forEach((s, i) => t.ok(Math.abs(s.start - 0.25 - more[i]?.start) <= 0.011, `segment ${i}: ${s.start.toFixed(2)} → ${more[i]?.start.toFixed(2)} s`));
  t.same(more.map((s) => s.end), none.map((s) => s.end), 'ends unchanged');
});

t.test('server_vad threshold: the higher, the less audio counts as speech', async (t) => {
  const [low, mid, high] = await Promise.all([0.2, 0.5, 0.9].map((threshold) => segments(serverVad({ threshold, prefix_padding_ms: 0 }))));
  t.comment(`speech sent at threshold 0.2 / 0.5 / 0.9: ${[low, mid, high].map((s) => spoken(s).toFixed(2)).join(' / ')} s`);
  t.ok(spoken(low) > spoken(mid) && spoken(mid) > spoken(high), 'strictly less speech at each step up');
});

t.test('auto normalises loudness: 30 dB too quiet, speech is still found on time; server_vad finds it late', async (t) => {
  const [normalised, plain] = await Promise.all([segments([['chunking_strategy', 'auto']], quiet), segments(serverVad({}), quiet)]);
  /** How late (s) the latest segment start is against its utterance's onset, padding taken off. */
  const latest = (segs: Segment[]) => (segs.length === utterances.length ? Math.max(...segs.map((s, i) => s.start + PREFIX_S - utterances[i].speechStart)) : Infinity);
  t.comment(`latest start vs speech onset: auto ${ms(latest(normalised))}, server_vad ${ms(latest(plain))} (original level: within 30 ms)`);
  t.ok(latest(normalised) <= 0.032, 'auto: no start later than one VAD window');
  t.ok(latest(plain) > 0.1, 'server_vad on the quiet upload: a start over 100 ms late');
});
