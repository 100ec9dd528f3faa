// Containers (MP4/M4A, WebM/Matroska, MPEG, AIFF...) are decoded by the ffmpeg binary
// that @ffmpeg-installer ships inside npm, run as a child process on a private temp
// file: MP4s with the moov box at the end cannot be read from a pipe.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { undecodableAudio, unsupportedAudio } from './errors.js';
import { decodeWavSamples, readWavLayout } from './wav.js';
import type { DecodedPcm } from './wasm-codecs.js';

const FFMPEG_TIMEOUT_MS = 300_000;
const STDERR_KEEP = 8192;
/** Decoded float output beyond this is refused: 2 GiB is over 3 h of 48 kHz stereo. */
const MAX_OUTPUT_BYTES = 2 ** 31;

let binary: Promise<string> | undefined;

async function ffmpegPath(): Promise<string> {
  binary ??= import('@ffmpeg-installer/ffmpeg').then((m) => m.default.path);
  try {
    return await binary;
  } catch (err) {
    binary = undefined;
    throw unsupportedAudio(`container formats need ffmpeg, which is not installed here (${(err as Error).message})`);
  }
}

export interface FfmpegOptions {
  /** Audio past this many seconds is not decoded (the caller rejects such files). */
  maxDurationS: number;
}

/** First audio stream of a container as planar float samples at its own rate and channel count. */
export async function decodeWithFfmpeg(bytes: Uint8Array, container: string, opts: FfmpegOptions): Promise<DecodedPcm> {
  const exe = await ffmpegPath();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sgl-omni-audio-')); // created 0700
  const input = path.join(dir, 'input');
  try {
    await writeFile(input, bytes, { mode: 0o600 });
    // WAV out carries the rate and channel count; -t caps the work on over-long files
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', input, '-map', '0:a:0', '-vn', '-sn', '-dn'];
    if (Number.isFinite(opts.maxDurationS)) args.push('-t', String(opts.maxDurationS + 1));
    args.push('-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1');
    const { code, stdout, stderr, overflow } = await run(exe, args);
    if (overflow) throw undecodableAudio(`${container}: decoded audio exceeds ${MAX_OUTPUT_BYTES / 2 ** 30} GiB`);
    const why = stderr.split(input).join('input').trim().split('\n').pop() || `exit code ${code}`;
    if (code !== 0) throw undecodableAudio(`${container}: ${why}`);
    if (stdout.length === 0) throw undecodableAudio(`${container}: ffmpeg produced no audio`);
    const wav = new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length);
    const layout = readWavLayout(wav);
    return { channels: decodeWavSamples(wav, layout), sampleRate: layout.sampleRate };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  /** Output passed MAX_OUTPUT_BYTES and the process was killed. */
  overflow: boolean;
}

function run(exe: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let overflow = false;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.stdout.on('data', (c: Buffer) => {
      if (overflow) return;
      bytes += c.length;
      if (bytes <= MAX_OUTPUT_BYTES) return void chunks.push(c);
      overflow = true;
      chunks.length = 0;
      child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-STDERR_KEEP)));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(unsupportedAudio(`could not run ffmpeg (${err.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const why = signal ? `ffmpeg killed by ${signal}${overflow ? '' : ' (time limit)'}` : stderr;
      resolve({ code: signal ? -1 : code, stdout: Buffer.concat(chunks), stderr: why, overflow });
    });
  });
}
