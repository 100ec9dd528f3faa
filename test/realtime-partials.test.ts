// Deltas during a turn, against a decoder double (fixtures/realtime/scripted-asr.ts:
// audio blocks spell words, the last word heard is unsure, answer_prefix honoured
// as the Qwen3-ASR decoder does) behind the real /v1/realtime handler, driven by
// the official SDK's OpenAIRealtimeWS: partials every 2 s of speech from 4 s on,
// forcing the previous partial's answer less K tokens (not the first); only forced
// text is sent, before the commit; the final decode forces exactly what was sent,
// so the deltas join to the completed transcript; turns complete in commit order;
// nothing of one turn reaches the next; one partial per session at a time, none
// while requests wait for admission; `language` checked at session.update.
import t from 'tap';
import { buildServer } from '../src/server/app.js';
import { TurnText } from '../src/server/handlers/realtime/partials.js';
import { ScriptedAsr, wordAudio, type ScriptedRequest } from './fixtures/realtime/scripted-asr.js';
import { appendAudio, openRawSession, openSession, type SdkSession, type ServerEvent } from './fixtures/realtime/sdk-session.js';

Object.assign(process.env, { SGL_OMNI_REALTIME_BURST_S: '120', SGL_OMNI_REALTIME_PARTIAL_UNFIXED_TOKENS: '2', SGL_OMNI_REALTIME_MAX_PARTIALS_RUNNING: '2' });
const asr = new ScriptedAsr();
const app = await buildServer({ pipeline: asr, servedModelNames: ['scripted'] });
const base = await app.listen({ port: 0, host: '127.0.0.1' });
t.teardown(() => app.close());

const ofType = (type: string) => (e: ServerEvent) => e.type === type;
const DELTA = 'conversation.item.input_audio_transcription.delta';
const COMPLETED = 'conversation.item.input_audio_transcription.completed';
const deltasOf = (events: ServerEvent[], item: unknown) => events.filter((e) => e.type === DELTA && e.item_id === item).map((e) => e.delta as string);
const partialsOf = (item: string) => asr.requests.filter((r) => r.id.startsWith(`${item}-p`));
const isPartial = (r: ScriptedRequest) => /-p\d+$/.test(r.id);

async function manualSession(language?: string): Promise<SdkSession> {
  const s = await openSession(base, { model: 'scripted' });
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: null, transcription: { model: 'scripted', ...(language ? { language } : {}) } } } } });
  await s.next(ofType('session.updated'));
  return s;
}

/** Speaks `audio` in 2.1 s pieces, each time from the second on (the first partial is due at 4 s) waiting until the partial it causes is answered. */
async function speak(s: SdkSession, audio: Buffer): Promise<void> {
  const piece = 2.1 * 48_000;
  for (let at = 0; at < audio.length; at += piece) {
    const before = asr.requests.filter(isPartial).length;
    appendAudio(s.rt, audio.subarray(at, at + piece));
    if (at > 0 && audio.length - at >= piece) await asr.request((r) => isPartial(r) && asr.requests.filter(isPartial).indexOf(r) === before);
  }
}

t.test('TurnText: a partial that revises sent text is not a base; the next forces exactly what was sent', async (t) => {
  const text = new TurnText(2);
  const en = (o: { text: string; streamed: string; forced?: string }) => text.accept({ ...o, language: 'English' }, true);
  t.same(text.nextPartial(true), {}, 'nothing to force yet');
  t.equal(en({ text: 'a b c D', streamed: 'a b c D' }), '', 'nothing forced: nothing sent');
  t.same(text.nextPartial(true), { answer_prefix: 'a b c D', answer_prefix_unfixed_tokens: 2 });
  t.equal(en({ text: 'a b c d e F', streamed: ' c d e F', forced: 'a b' }), 'a b', 'the forced part is sent');
  t.same(text.nextPartial(true), { answer_prefix: 'a b c d e F', answer_prefix_unfixed_tokens: 2 });
  t.equal(en({ text: 'a x', streamed: ' x', forced: 'a' }), '', 'a revision sends nothing');
  t.same(text.nextPartial(true), { answer_prefix: 'a b', answer_prefix_unfixed_tokens: 0 }, 'and the next partial forces exactly the sent text');
  t.equal(en({ text: 'a b c d e f G', streamed: ' c d e f G', forced: 'a b' }), '');
  t.equal(en({ text: 'a b c d e f g', streamed: ' f g h h h h', forced: 'a b c d e' }), ' c d e', 'a loop the decoder cleaned from the text does not hide what it forced');
  t.same(text.nextPartial(true), { answer_prefix: 'a b c d e f g h h h h', answer_prefix_unfixed_tokens: 2 }, 'the next partial forces the raw answer, as the official _raw_decoded');
  t.same(text.final(true), { answer_prefix: 'a b c d e', answer_prefix_unfixed_tokens: 0 });
  const auto = new TurnText(1);
  auto.accept({ text: 'a B', streamed: 'a B', language: 'English' }, false);
  t.same(auto.nextPartial(false), { answer_prefix: 'language English<asr_text>a B', answer_prefix_unfixed_tokens: 1 }, 'the detected language header starts the base, as the official raw output');
  t.same(auto.nextPartial(true), { answer_prefix: 'a B', answer_prefix_unfixed_tokens: 1 }, 'not once the language is forced (the prompt holds it)');
  auto.accept({ text: 'a b C', streamed: ' b C', forced: 'a', language: 'English' }, false);
  t.same(auto.final(false), { answer_prefix: 'language English<asr_text>a', answer_prefix_unfixed_tokens: 0 });
  t.same(auto.final(true), { answer_prefix: 'a', answer_prefix_unfixed_tokens: 0 }, 'no header once the language is forced');
  t.equal(auto.accept({ text: 'a b c D', streamed: ' c D', forced: 'a b', language: 'French' }, false), '', 'another detected language: a revision');
});

t.test('a long turn: fixed deltas before the commit, each partial forcing the last, the final forcing what was sent', async (t) => {
  const s = await manualSession('en');
  await speak(s, wordAudio(1, 18)); // w1 … w18, 9 s
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const committed = await s.next(ofType('input_audio_buffer.committed'));
  const item = committed.item_id as string;
  const completed = await s.next((e) => e.type === COMPLETED && e.item_id === item);
  const early = deltasOf(s.events.slice(0, s.events.indexOf(committed)), item);
  t.ok(early.length >= 1, `deltas before the commit (${early.length})`);
  t.equal(deltasOf(s.events, item).join(''), completed.transcript, 'deltas concatenated = completed transcript');
  t.match(completed.transcript, /^w1 w2 w3 .* w17 W18$/, 'the whole turn, in order');
  const partials = partialsOf(item);
  t.ok(partials.length >= 3, `${partials.length} partials (from 4 s, every 2 s)`);
  t.notOk(partials[0].params.answer_prefix, 'the first forces nothing');
  t.ok(partials[0].seconds >= 3.9 && partials[0].seconds < 4.3, `and comes after 2 intervals (${partials[0].seconds.toFixed(2)} s: the official's unforced first chunk is never sent, so never run)`);
  for (let i = 1; i < partials.length; i++) {
    t.same([partials[i].params.answer_prefix, partials[i].params.answer_prefix_unfixed_tokens], [partials[i - 1].text, 2], `partial ${i + 1} forces partial ${i}'s answer less 2 tokens`);
  }
  const final = asr.requests.find((r) => r.id === item)!;
  t.same([final.params.answer_prefix, final.params.answer_prefix_unfixed_tokens], [early.join(''), 0], 'the final decode forces exactly the text sent');
  t.notMatch(early.join(''), /[A-Z]/, 'no unsure word was ever sent');
  s.rt.close();
  await s.closed;
});

t.test('a turn cleared after its deltas were sent ends in a failed event for its item; the next turn is its own', async (t) => {
  const s = await manualSession('en');
  await speak(s, wordAudio(1, 18));
  const delta = await s.next(ofType(DELTA));
  const item = delta.item_id as string;
  s.rt.send({ type: 'input_audio_buffer.clear' });
  const failed = await s.next((e) => e.type === 'conversation.item.input_audio_transcription.failed' && e.item_id === item);
  t.match(failed.error, { type: 'invalid_request_error', code: 'turn_discarded', message: /input_audio_buffer\.clear/ }, 'the deltas sent are voided, naming why');
  await s.next(ofType('input_audio_buffer.cleared'));
  t.ok(s.events.indexOf(failed) < s.events.findIndex(ofType('input_audio_buffer.cleared')), 'before the cleared event');
  appendAudio(s.rt, wordAudio(31, 4));
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const next = (await s.next(ofType('input_audio_buffer.committed'))).item_id as string;
  const completed = await s.next((e) => e.type === COMPLETED && e.item_id === next);
  t.not(next, item, 'a new item');
  t.match(completed.transcript, /^w31 w32 w33 W34$/, 'only the audio after the clear');
  t.notOk(s.events.some((e) => e.type === COMPLETED && e.item_id === item), 'the cleared item never completes');
  s.rt.close();
  await s.closed;
});

t.test('a turn longer than one decoder segment: partials stop at partial_max_turn_s; the final, refused a forced start, is decoded whole and its rest appended', async (t) => {
  const s = await manualSession('en');
  await speak(s, wordAudio(1, 56)); // 28 s, partials all along
  appendAudio(s.rt, wordAudio(57, 12)); // 6 s more: past 28 s, no partial
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const item = (await s.next(ofType('input_audio_buffer.committed'))).item_id as string;
  const completed = await s.next((e) => e.type === COMPLETED && e.item_id === item);
  t.ok(partialsOf(item).every((r) => r.seconds <= 28), 'no partial past 28 s of turn');
  const finals = asr.requests.filter((r) => r.id === item);
  t.same(finals.map((r) => typeof r.params.answer_prefix), ['string', 'undefined'], 'refused with the sent text forced, then decoded whole');
  t.equal(deltasOf(s.events, item).join(''), completed.transcript, 'deltas concatenated = completed transcript');
  t.equal(completed.transcript, [...Array.from({ length: 67 }, (_, i) => `w${i + 1}`), 'W68'].join(' '), 'the whole turn, each word once');
  s.rt.close();
  await s.closed;
});

t.test("turns complete in commit order, and one turn's text never reaches the next", async (t) => {
  const s = await manualSession();
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  let finals = 0;
  asr.gate = async (r) => {
    if (!isPartial(r) && !r.id.startsWith('language') && finals++ === 0) await firstHeld;
  };
  await speak(s, wordAudio(1, 16));
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const first = (await s.next(ofType('input_audio_buffer.committed'))).item_id as string;
  await speak(s, wordAudio(51, 10));
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const second = (await s.next((e) => e.type === 'input_audio_buffer.committed' && e.item_id !== first)).item_id as string;
  await asr.request((r) => r.id === second);
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(s.events.some((e) => e.type === COMPLETED), 'the second turn, decoded first, waits for the first');
  releaseFirst();
  await s.next((e) => e.type === COMPLETED && e.item_id === second);
  t.same(s.events.filter(ofType(COMPLETED)).map((e) => e.item_id), [first, second], 'completed in commit order');
  const done = s.events.filter(ofType(COMPLETED)).map((e) => e.transcript as string);
  t.match(done[0], /^w1 w2 .* W16$/, 'turn 1 as spoken (no language header: it was forced after the model wrote it)');
  t.match(done[1], /^w51 w52 .* W60$/, 'turn 2 is its own audio only');
  t.notMatch(done[1], /\bw1\b|\bw12\b/i, 'nothing of turn 1 in turn 2');
  for (const r of asr.requests.filter((r) => r.id.startsWith(second))) {
    t.notMatch(String(r.params.answer_prefix ?? ''), /\bw([1-9]|1[0-6])\b/i, `${r.id} forces nothing of turn 1`);
  }
  t.equal(deltasOf(s.events, second).join(''), done[1]);
  const forced = partialsOf(first).find((r) => r.params.answer_prefix);
  t.match(forced?.params.answer_prefix, /^language English<asr_text>w1 w2 /, 'no language forced: the base starts with the header the model wrote, as the official raw output');
  asr.gate = async () => undefined;
  s.rt.close();
  await s.closed;
});

t.test('one partial in flight per session: audio arriving meanwhile goes to the next one; none while requests wait for admission', async (t) => {
  const s = await manualSession('en');
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  asr.gate = (r) => (isPartial(r) ? held : Promise.resolve());
  const start = asr.requests.length;
  appendAudio(s.rt, wordAudio(1, 16)); // 8 s at once
  const first = await asr.request((r) => isPartial(r) && asr.requests.indexOf(r) >= start, false);
  const item = first.id.replace(/-p\d+$/, '');
  // session.updated comes from the session's audio queue: every append before it has been read.
  s.rt.send({ type: 'session.update', session: { type: 'transcription' } });
  await s.next(ofType('session.updated'), { from: 2 });
  t.equal(partialsOf(item).length, 1, 'no second partial while the first runs');
  release();
  await asr.request((r) => r === first);
  s.rt.send({ type: 'input_audio_buffer.append', audio: wordAudio(17, 1).toString('base64') });
  const second = await asr.request((r) => r.id === `${item}-p2`);
  t.ok(second.seconds >= 8.4, `the next partial hears all the audio that came meanwhile (${second.seconds.toFixed(2)} s)`);
  s.rt.send({ type: 'input_audio_buffer.commit' });
  await s.next((e) => e.type === COMPLETED && e.item_id === item);
  t.equal(partialsOf(item).length, 2, 'the committed turn starts no partial after it');

  asr.gate = async () => undefined;
  asr.waiting = 1;
  const metricBefore = await skipped();
  appendAudio(s.rt, wordAudio(1, 10));
  s.rt.send({ type: 'input_audio_buffer.commit' });
  const busy = (await s.next((e) => e.type === 'input_audio_buffer.committed' && e.item_id !== item)).item_id as string;
  await s.next((e) => e.type === COMPLETED && e.item_id === busy);
  t.equal(partialsOf(busy).length, 0, 'no partial while a request waits for admission');
  t.ok((await skipped()) > metricBefore, 'counted as skipped');
  asr.waiting = 0;
  s.rt.close();
  await s.closed;
});

t.test('partials of all sessions share max_partials_running (2 here): with two held back, a third session skips its partial until one ends', async (t) => {
  const [a, b, c] = [await manualSession('en'), await manualSession('en'), await manualSession('en')];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  asr.gate = (r) => (isPartial(r) ? held : Promise.resolve());
  const start = asr.requests.length;
  const newPartials = () => asr.requests.filter((r) => isPartial(r) && asr.requests.indexOf(r) >= start);
  appendAudio(a.rt, wordAudio(1, 9));
  await asr.request((r) => newPartials().length === 1 && r === newPartials()[0], false);
  appendAudio(b.rt, wordAudio(1, 9));
  await asr.request((r) => newPartials().length === 2 && r === newPartials()[1], false);
  const before = await skipped();
  appendAudio(c.rt, wordAudio(1, 9));
  c.rt.send({ type: 'session.update', session: { type: 'transcription' } });
  await c.next(ofType('session.updated'), { from: 2 });
  t.equal(newPartials().length, 2, "c's partial does not start while two run");
  t.equal((await skipped()) - before, 1, 'counted once as skipped');
  release();
  await asr.request((r) => r === newPartials()[0]);
  appendAudio(c.rt, wordAudio(10, 1));
  const third = await asr.request((r) => newPartials().length === 3 && r === newPartials()[2]);
  t.notOk(newPartials().slice(0, 2).some((r) => r.id.split('-p')[0] === third.id.split('-p')[0]), "c's partial runs once the others have ended");
  asr.gate = async () => undefined;
  for (const s of [a, b, c]) s.rt.close();
  await Promise.all([a.closed, b.closed, c.closed]);
});

async function skipped(): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.includes('realtime_partials_total') && l.includes('outcome="skipped"'));
  return line ? Number(line.split(' ').pop()) : 0;
}

t.test('language is checked at session.update: an error naming the param, the events after it read in order, the verdict remembered', async (t) => {
  const s = await openSession(base, { model: 'scripted' });
  await s.next(ofType('session.created'));
  s.rt.send({ type: 'session.update', event_id: 'u1', session: { type: 'transcription', audio: { input: { transcription: { language: 'xx' } } } } });
  s.rt.send({ type: 'input_audio_buffer.commit', event_id: 'c1' });
  const errors = [await s.next(ofType('error')), await s.next(ofType('error'), { from: s.events.findIndex(ofType('error')) + 1 })].map((e) => e.error as Record<string, unknown>);
  t.match(errors[0], { type: 'invalid_request_error', code: 'invalid_value', param: 'session.audio.input.transcription.language', event_id: 'u1', message: /unsupported language "xx"/ });
  t.match(errors[1], { code: 'input_audio_buffer_commit_empty', event_id: 'c1' }, 'the commit after it, read after the verdict');
  const probes = asr.requests.filter((r) => r.params.language === 'xx').length;
  s.rt.send({ type: 'session.update', event_id: 'u2', session: { type: 'transcription', audio: { input: { transcription: { language: 'en' } } } } });
  const updated = await s.next(ofType('session.updated'));
  t.match(updated.session, { audio: { input: { transcription: { language: 'en' } } } });
  const beta = await openRawSession(`${base.replace('http', 'ws')}/v1/realtime?intent=transcription&model=scripted`);
  await beta.next(ofType('transcription_session.created'));
  beta.send({ type: 'transcription_session.update', event_id: 'b1', session: { input_audio_transcription: { language: 'xx' } } });
  t.match((await beta.next(ofType('error'))).error, { param: 'session.input_audio_transcription.language', event_id: 'b1' });
  t.equal(asr.requests.filter((r) => r.params.language === 'xx').length, probes, 'the verdict was remembered: no second probe');
  beta.socket.close();
  s.rt.close();
  await Promise.all([s.closed, beta.closed]);
});
