// Side by side with the official transformers Qwen3-ASR (issue 18): the same
// -hf checkpoint (a random real-shape one, converted from make-checkpoint's
// original layout by the converter tools/golden/make_golden.py carries, which
// follows transformers' convert_qwen3_asr_to_hf.py), the same clip (a WAV looped
// or cut to --seconds) and the same prompt ids (the processor's, with its own
// padding), --new-tokens greedy tokens, --threads threads on both sides.
// Rounds alternate the contenders (order reversed every other round); every
// phase carries the CPU other processes took meanwhile (bench/quiet.ts; the
// Python process counts as ours), disturbed rounds are retaken, and ratios from
// a disturbed run are refused with the reason. Min and median per phase.
// The Python side is bench/peer-transformers.py, run with --python (a venv with
// torch 2.13 and transformers 5.17: README "Performance").
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { repoRoot } from '../src/util/paths.js';
import { decodeAudio } from '../stages/audio/decode.js';
import { whisperLogMel } from '../stages/audio/mel.js';
import type { CheckpointSize } from '../stages/qwen3-asr/checkpoint/sizes.js';
import { benchCacheDir, parseScriptArgs, parseVariant } from './args.js';
import { BATCH, OursUnderTest, PHASES, PhaseRecorder, ensureRandomCheckpoint, quietRound, type Phase, type RoundResult } from './peer-ours.js';
import { QuietMeter, Series, ratioLine, refusal, runLine } from './quiet.js';

const USAGE = `Usage: node dist/bench/peer-transformers.js [--size 0.6b|1.7b] [--checkpoint DIR] [--ours fp32,int8,int4,int8+pc,int4+pc-prefill]
       [--theirs fp32,bf16,int8] [--runs 11] [--retries 3] [--threads 2] [--seconds 10] [--new-tokens 32]
       [--wav test/fixtures/audio/jfk.wav] [--python /work/venv/bin/python] [--max-other-cores 0.1] [--cache-dir DIR]
Qwen3-ASR by phase against the official transformers model class on the same checkpoint and clip.
--checkpoint: a checkpoint in either layout (default: a random --size one in the bench cache); an
original-layout one is converted to -hf (the transformers layout) beside it in the bench cache.
--python (or SGL_OMNI_PEER_PYTHON): a Python with torch 2.13 and transformers 5.17.
--ours names as bench/model.js --precisions (+pc, +pc-prefill: per-channel int8 kernel).`;
const { values } = parseScriptArgs(USAGE, {
  options: {
    size: { type: 'string', default: '0.6b' },
    checkpoint: { type: 'string' },
    ours: { type: 'string', default: 'fp32,int8,int4' },
    theirs: { type: 'string', default: 'fp32,bf16,int8' },
    runs: { type: 'string', default: '11' },
    retries: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '10' },
    'new-tokens': { type: 'string', default: '32' },
    wav: { type: 'string' },
    python: { type: 'string' },
    'max-other-cores': { type: 'string', default: '0.1' },
    'cache-dir': { type: 'string' },
  },
});
const root = repoRoot();
const log = (m: string) => process.stderr.write(`${m}\n`);
const threads = Number(values.threads);
const seconds = Number(values.seconds);
const newTokens = Number(values['new-tokens']);
const runs = Number(values.runs);
const retries = Number(values.retries);
const python = values.python ?? process.env.SGL_OMNI_PEER_PYTHON ?? '/work/venv/bin/python';
const wav = path.resolve(values.wav ?? path.join(root, 'test/fixtures/audio/jfk.wav'));
const cache = benchCacheDir(values['cache-dir']);
console.log(`cache: ${cache} (checkpoints and converted graphs; --cache-dir or SGL_OMNI_BENCH_CACHE to move it)`);

// The checkpoint, in the -hf layout both sides load.
const source = path.resolve(values.checkpoint ?? path.join(cache, `qwen3-asr-${values.size}-random`));
if (!values.checkpoint) await ensureRandomCheckpoint(values.size as CheckpointSize, source, log);
const isOriginal = 'thinker_config' in JSON.parse(fs.readFileSync(path.join(source, 'config.json'), 'utf8'));
/** The -hf copy: named after the source and a hash of its path, so two checkpoints never share one. */
const hf = isOriginal ? path.join(cache, `${path.basename(source)}-${createHash('sha256').update(source).digest('hex').slice(0, 8)}-hf`) : source;
if (isOriginal && !fs.existsSync(path.join(hf, 'config.json'))) {
  log(`converting ${source} to the -hf layout in ${hf}`);
  await runPython(['-c', 'import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; from make_golden import convert; convert(Path(sys.argv[2]), Path(sys.argv[3]))',
    path.join(root, 'tools/golden'), source, `${hf}.partial`]);
  fs.renameSync(`${hf}.partial`, hf);
}

function runPython(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', (err) => reject(new Error(`${python}: ${err.message} (--python names a Python with torch and transformers; README "Performance")`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${python} ${args[0]} exited with ${code}`))));
  });
}

// The Python peer: loads every precision, then answers one round per line.
const peer = spawn(python, [path.join(root, 'bench/peer-transformers.py'), '--checkpoint', hf, '--wav', wav, '--seconds', String(seconds),
  '--threads', String(threads), '--new-tokens', String(newTokens), '--precisions', values.theirs], { stdio: ['pipe', 'pipe', 'inherit'] });
const peerExit = new Promise<never>((_, reject) => {
  peer.on('error', (err) => reject(new Error(`${python}: ${err.message}`)));
  peer.on('exit', (code) => reject(new Error(`bench/peer-transformers.py exited with ${code} (its messages are above)`)));
});
peerExit.catch(() => undefined); // handled where raced; a normal exit after quit is not an error
const lines = readline.createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
async function fromPeer(): Promise<Record<string, unknown>> {
  const next = await Promise.race([lines.next(), peerExit]);
  if (next.done) throw new Error('bench/peer-transformers.py closed its output');
  return JSON.parse(next.value) as Record<string, unknown>;
}
const hello = await fromPeer();
const meter = new QuietMeter({ maxOtherCores: Number(values['max-other-cores']), ownPids: () => (peer.pid ? [peer.pid] : []) });
console.log(await meter.banner());

// Ours: the same samples through our own log-mel, the processor's prompt ids.
const decoded = (await decodeAudio(fs.readFileSync(wav), { maxDurationS: 3600 })).channels[0];
const n = Math.round(seconds * 16000);
const samples = Float32Array.from({ length: n }, (_, i) => decoded[i % decoded.length]);
const { mel, frames } = whisperLogMel(samples);
const prompt = Int32Array.from(hello.prompt_ids as number[]);
if (frames !== hello.frames) throw new Error(`our log-mel has ${frames} frames, the processor's ${String(hello.frames)}`);
const clip = { mel, frames };

interface Contender { rec: PhaseRecorder; round: () => Promise<RoundResult>; ours?: OursUnderTest }
const contenders: Contender[] = [];
for (const variant of values.ours.split(',').map(parseVariant)) {
  log(`ours ${variant.label}: loading (converts the graphs on a first run)`);
  const ours = await OursUnderTest.open(`ours ${variant.label}`, { modelPath: hf, cacheDir: path.join(cache, 'graphs'), variant, threads, newTokens, maxContext: prompt.length + newTokens + 8 });
  await ours.round(meter, clip, prompt); // warm-up
  contenders.push({ rec: ours, round: () => ours.round(meter, clip, prompt), ours });
}
for (const precision of values.theirs.split(',')) {
  const rec = new PhaseRecorder(`transformers ${precision}`);
  const round = async (): Promise<RoundResult> => {
    const { value, quiet } = await meter.measure(async () => { peer.stdin!.write(`${JSON.stringify({ round: precision })}\n`); return fromPeer(); });
    if (value.generated !== newTokens) throw new Error(`transformers generated ${String(value.generated)} tokens, not ${newTokens}`);
    // The peer times its phases itself; the quiet reading of its whole round stands for each.
    return PHASES.map((p): [Phase, number, typeof quiet] => [p, value[p] as number, quiet]);
  };
  contenders.push({ rec, round });
}

const { quiet: run } = await meter.measure(async () => {
  for (let r = 1; r <= runs; r++) {
    const order = r % 2 ? contenders : [...contenders].reverse();
    for (const c of order) {
      log(`round ${r}/${runs} ${c.rec.label}`);
      await quietRound(c.rec.label, retries, log, c.round, (x) => c.rec.record(x));
    }
  }
});
peer.stdin!.end(`${JSON.stringify({ quit: true })}\n`);
for (const c of contenders) await c.ours?.close();

const rtf = (s: Series, f: 'min' | 'median') => s[f]() / 1000 / seconds;
console.log(`\nQwen3-ASR ${path.basename(source)} vs transformers ${String(hello.torch)} (torch threads ${String(hello.threads)}); ${seconds} s clip = ${frames} frames (processor padded to ${String(hello.padded_frames)}), ${String(hello.audio_tokens)} audio tokens, prompt ${prompt.length}, ${newTokens} new tokens greedy, ${threads} threads`);
console.log(`min / median over ${runs} alternating rounds; others = cores used by other processes (limit ${meter.maxOtherCores})`);
console.log(`| | ${PHASES.join(' | ')} | RTF | tok/s b=${BATCH} |`);
console.log(`|---|${PHASES.map(() => '---|').join('')}---|---|`);
for (const { rec: c } of contenders) {
  const b8 = c.get('step ms b=8');
  const flag = refusal([...c.series.values()], run) ? ' DISTURBED' : '';
  console.log(`| ${c.label}${flag} | ${PHASES.map((p) => `${c.get(p).min().toFixed(1)} / ${c.get(p).median().toFixed(1)}`).join(' | ')} | ${rtf(c.get('total ms'), 'min').toFixed(3)} / ${rtf(c.get('total ms'), 'median').toFixed(3)} | ${((1000 * BATCH) / b8.min()).toFixed(1)} / ${((1000 * BATCH) / b8.median()).toFixed(1)} |`);
}
// Speed ratios: their time over ours (above 1, ours is faster), against each of theirs and their best per phase.
const ours = contenders.filter((c) => c.ours).map((c) => c.rec);
const theirs = contenders.filter((c) => !c.ours).map((c) => c.rec);
const why = refusal(contenders.flatMap((c) => [...c.rec.series.values()]), run);
if (why) console.log(`ratios ${why}`);
for (const o of why ? [] : ours) {
  console.log(`${o.label}: transformers time / ours (> 1: ours faster)`);
  for (const p of PHASES) {
    const best = theirs.reduce((a, t) => (t.get(p).median() < a.get(p).median() ? t : a));
    console.log(`  ${ratioLine(`${p} vs their best (${best.label})`, best.get(p), o.get(p), run)}`);
    for (const t of theirs.filter((x) => x !== best)) console.log(`  ${ratioLine(`${p} vs ${t.label}`, t.get(p), o.get(p), run)}`);
  }
}
console.log(runLine(run, meter.maxOtherCores));
