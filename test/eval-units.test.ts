// The harness's small pieces: percentiles, WAV durations, manifest and
// thresholds validation, gate arithmetic, chart ticks.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../src/util/paths.js';
import { loadManifest } from '../src/eval/manifest.js';
import { niceTicks } from '../src/eval/report/svg.js';
import { mean, percentile } from '../src/eval/stats.js';
import type { LevelResult } from '../src/eval/summary.js';
import { tokenizerFor } from '../src/eval/text.js';
import { checkGates, getPreset, loadThresholds } from '../src/eval/thresholds.js';
import { alignTokens } from '../src/eval/wer.js';
import { wavDurationSeconds } from '../src/eval/wav.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-units-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('mean and numpy-style linear percentiles', async (t) => {
  const oneToTwenty = Array.from({ length: 20 }, (_, i) => i + 1);
  t.equal(percentile([4, 1, 3, 2], 50), 2.5);
  t.equal(percentile(oneToTwenty, 95), 19.05);
  t.equal(percentile(oneToTwenty, 99), 19.81);
  t.equal(percentile([7], 95), 7);
  t.equal(percentile([], 50), null);
  t.equal(mean([1, 2, 6]), 3);
  t.equal(mean([]), null);
});

function wav(opts: { rate: number; channels: number; bits: number; frames: number; extraChunk?: boolean; dataSize?: number }): Buffer {
  const blockAlign = (opts.channels * opts.bits) / 8;
  const data = opts.frames * blockAlign;
  const list = opts.extraChunk ? Buffer.concat([Buffer.from('LIST'), Buffer.from([5, 0, 0, 0]), Buffer.from('abcde\0')]) : Buffer.alloc(0);
  const fmt = Buffer.alloc(24);
  fmt.write('fmt ', 0);
  fmt.writeUInt32LE(16, 4);
  fmt.writeUInt16LE(1, 8);
  fmt.writeUInt16LE(opts.channels, 10);
  fmt.writeUInt32LE(opts.rate, 12);
  fmt.writeUInt32LE(opts.rate * blockAlign, 16);
  fmt.writeUInt16LE(blockAlign, 20);
  fmt.writeUInt16LE(opts.bits, 22);
  const head = Buffer.alloc(12);
  head.write('RIFF', 0);
  head.writeUInt32LE(4 + fmt.length + list.length + 8 + data, 4);
  head.write('WAVE', 8);
  const dataHead = Buffer.alloc(8);
  dataHead.write('data', 0);
  dataHead.writeUInt32LE(opts.dataSize ?? data, 4);
  return Buffer.concat([head, list, fmt, dataHead, Buffer.alloc(data)]);
}

t.test('WAV duration from the header', async (t) => {
  t.equal(wavDurationSeconds(wav({ rate: 16000, channels: 1, bits: 16, frames: 24000 })), 1.5);
  t.equal(wavDurationSeconds(wav({ rate: 44100, channels: 2, bits: 16, frames: 44100, extraChunk: true })), 1, 'skips a padded odd-sized chunk');
  t.equal(wavDurationSeconds(wav({ rate: 8000, channels: 1, bits: 8, frames: 4000, dataSize: 0xffffffff })), 0.5, 'streamed size');
  t.equal(wavDurationSeconds(Buffer.from('ID3 mp3 bytes....')), null);
});

t.test('manifest validation names the line', async (t) => {
  fs.writeFileSync(path.join(dir, 'a.wav'), wav({ rate: 16000, channels: 1, bits: 16, frames: 16000 }));
  const write = (name: string, lines: string[]) => {
    fs.writeFileSync(path.join(dir, name), lines.join('\n'));
    return path.join(dir, name);
  };
  const good = loadManifest(write('good.jsonl', ['{"audio":"a.wav","text":"hi"}', '', '{"audio":"a.wav","text":"x","id":"two","duration":3}']));
  t.same(good.map((i) => [i.id, i.durationSeconds, i.reference]), [['a.wav', 1, 'hi'], ['two', 3, 'x']]);
  t.equal(loadManifest(path.join(dir, 'good.jsonl'), 1).length, 1, 'limit');
  t.throws(() => loadManifest(write('b1.jsonl', ['{"audio":"a.wav","text":"a"}', 'nope'])), { code: 'bad_manifest', message: /b1\.jsonl:2: not a JSON object/ });
  t.throws(() => loadManifest(write('b2.jsonl', ['{"text":"a"}'])), { code: 'bad_manifest', message: /"audio" must be a path/ });
  t.throws(() => loadManifest(write('b3.jsonl', ['{"audio":"a.wav"}'])), { code: 'bad_manifest', message: /"text"/ });
  t.throws(() => loadManifest(write('b4.jsonl', ['{"audio":"gone.wav","text":"a"}'])), { code: 'missing_audio' });
  t.throws(() => loadManifest(write('b5.jsonl', ['{"audio":"a.wav","text":"a","duration":-1}'])), { code: 'bad_manifest' });
  t.throws(() => loadManifest(write('b6.jsonl', [''])), { code: 'bad_manifest', message: /no entries/ });
});

t.test('shipped thresholds load and gate arithmetic follows the tolerance', async (t) => {
  const thresholds = loadThresholds(path.join(repoRoot(), 'configs', 'eval', 'thresholds.yaml'));
  const preset = getPreset(thresholds, 'sglang-omni-qwen3-asr-en');
  t.equal(preset.concurrency, 32);
  const level = {
    errorRate: { corpus: 0.0134, maxSample: 0.25 },
    throughput: { requestsPerSecond: 223.8, audioSecondsPerSecond: 0 },
    latency: { mean: 0.2, p95: 0.2, p99: 0.3 },
    rtf: { mean: 0.02, p95: 0.04 },
    failures: { count: 0 },
  } as unknown as LevelResult;
  const gates = Object.fromEntries(checkGates(thresholds, preset, level).map((g) => [g.metric, g]));
  t.equal(gates.wer_corpus.limit, 0.0122 * 1.1);
  t.equal(gates.wer_corpus.pass, true, '0.0134 ≤ 0.01342');
  t.equal(gates.wer_sample_max.pass, false, '0.25 > 0.2001');
  t.equal(gates.throughput_rps.limit, 248.5988258993208 * 0.9);
  t.equal(gates.throughput_rps.pass, true, '223.8 ≥ 223.74');
  t.equal(gates.latency_mean_s.pass, false);
  t.equal(gates.failures.pass, true);
});

t.test('thresholds validation', async (t) => {
  const write = (yaml: string) => {
    const file = path.join(dir, 'th.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  };
  const base = 'tolerance: {lower: 1.1, higher: 0.9}\n';
  t.throws(() => loadThresholds(write('tolerance: {lower: 0.5, higher: 0.9}\n')), { code: 'bad_thresholds', message: /tolerance/ });
  t.throws(() => loadThresholds(write(base + 'direction: {speed: higher}\n')), { message: /unknown metric "speed"/ });
  t.throws(() => loadThresholds(write(base + 'direction: {rtf_mean: down}\n')), { message: /"lower" or "higher"/ });
  t.throws(() => loadThresholds(write(base + 'presets: {p: {concurrency: 0}}\n')), { message: /concurrency must be a positive integer/ });
  t.throws(() => loadThresholds(write(base + 'presets: {p: {concurrency: 1, reference: {rtf_mean: 1}}}\n')), { message: /no direction/ });
  t.throws(() => loadThresholds(path.join(dir, 'absent.yaml')), { code: 'bad_thresholds' });
});

t.test('chart ticks are round numbers inside the range', async (t) => {
  t.same(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.same(niceTicks(0.013, 0.047), [0.02, 0.03, 0.04]);
  t.same(niceTicks(1, 32), [10, 20, 30]);
});

t.test('scoring language picks the tokens', async (t) => {
  const zh = tokenizerFor('zh');
  t.equal(zh.unit, 'character');
  const cer = alignTokens(zh.tokens('今天天气很好。'), zh.tokens('今天天汽很好！'));
  t.same([cer.substitutions, cer.refTokens], [1, 6], 'one wrong character of six, punctuation ignored');
  t.same(tokenizerFor('en').tokens("Mr. Smith's colour"), ['mister', 'smith', 'is', 'color']);
  t.same(tokenizerFor('de').tokens('Grüße, Welt!'), ['grüße', 'welt'], 'basic normaliser keeps diacritics');
});
