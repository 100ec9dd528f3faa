// Containers (MP4/M4A, WebM/Matroska, MPEG, AIFF...) are decoded by the ffmpeg binary that
// @ffmpeg-installer ships inside npm, run as a child process that can read the upload and
// nothing else (issue 11: a text upload probed as a DASH manifest made ffmpeg open a media
// file named in it, and the server transcribed that):
//  - the demuxer is the one our sniffing chose (`-f`), and `-format_whitelist` names only it,
//    so ffmpeg never probes across its demuxers (DASH, HLS, concat, image2... open the files
//    and URLs a manifest names) and no demuxer can open another;
//  - the upload arrives on stdin and only the pipe and cache protocols are allowed, so no
//    file:, http:, subfile:, data: or other URL inside an upload can be opened; `cache:`
//    keeps what it read (in its own unlinked temp file) so that the mov demuxer can seek back
//    to an mdat box that comes before the moov box;
//  - MOV external data references stay off (`-enable_drefs 0`, also ffmpeg's default).
// Output is f32le WAV at the source's rate and channels, streamed into a MonoSink as it comes:
// memory is the sink's, and ffmpeg is killed as soon as the sink refuses the audio (over the cap)
// or the request is cancelled.
// Before that, decodedSeconds() has ffmpeg decode into its null muxer and report how long the
// audio is: a container that does not say (or lies) cannot make us resample hours of audio
// only to refuse it (issue 11: 190 s of one core for a 369 KB 4 h FLAC-in-WAV before; the count
// costs ffmpeg's C decoder ~1 s and none of ours).
// A stream where more than MAX_ERROR_RATE of the packets fail to decode is refused (exit code
// 69): the attacker re-test's `#!AMR` + text upload decoded 1 packet in 3 (random bytes: 1 in
// 2) and was answered 200 with noise under ffmpeg's default 2/3; a damaged real file loses a
// frame or two. ffmpeg runs under kernel resource limits (child-limits.ts).
import { spawn } from 'node:child_process';
import { StageError } from '../../src/runtime/contracts.js';
import { audioTooLong, throwIfCancelled, undecodableAudio, unsupportedAudio } from './errors.js';
import { limitedCommand, type ChildLimits } from './child-limits.js';
import type { MonoSink } from './mono-sink.js';
import { readWavHeader } from './wav.js';

const FFMPEG_TIMEOUT_MS = 300_000;
/** Share of packets that may fail to decode (`-max_error_rate`; ffmpeg exits 69 past it). */
export const MAX_ERROR_RATE = 0.1;
const EXIT_ERROR_RATE = 69;
/** CPU seconds per ffmpeg run: 20 min of 48 kHz stereo AAC decodes in 0.8 s of CPU, so 3 h in ~7 s. */
const FFMPEG_CPU_S = 120;
/** Address space: the static binary needs 64-128 MB to start and decode (fails at 64 MB). */
const FFMPEG_ADDRESS_SPACE = 512 * 2 ** 20;
/** Past the upload's size, what `cache:`'s temp copy of it may add (its own bookkeeping is in memory). */
const CACHE_FILE_SLACK = 2 ** 20;
const STDERR_KEEP = 8192;
/** ffmpeg's input: its stdin, through the seek-back cache. */
const INPUT_URL = 'cache:pipe:0';

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

export interface FfmpegInput {
  /** What the sniffer saw, for messages. */
  container: string;
  /** The one ffmpeg demuxer allowed to read it (`ffmpeg -formats` names: mov, matroska, wav...). */
  demuxer: string;
}

export interface FfmpegOptions {
  /** Audio past this many seconds is not decoded (the sink refuses such files). */
  maxDurationS: number;
  /** Aborted when the request is cancelled: ffmpeg is killed. */
  signal?: AbortSignal;
  /** Told +1 when an ffmpeg child starts and -1 once it has exited (the stage counts them in its metrics). */
  onChild?(change: 1 | -1): void;
}

/** What ffmpeg writes: the decoded audio as f32le WAV on stdout, or only its progress report (the decoded length). */
type FfmpegOutput = 'wav' | 'length';

/** The command line: everything before `-i` restricts what ffmpeg may open and how it reads the upload. */
export function ffmpegArgs(input: FfmpegInput, opts: FfmpegOptions, output: FfmpegOutput = 'wav'): string[] {
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-max_error_rate', String(MAX_ERROR_RATE)];
  args.push('-protocol_whitelist', 'pipe,cache', '-read_ahead_limit', '-1');
  args.push('-f', input.demuxer, '-format_whitelist', input.demuxer);
  if (input.demuxer === 'mov') args.push('-enable_drefs', '0', '-use_absolute_path', '0');
  args.push('-i', INPUT_URL, '-map', '0:a:0', '-vn', '-sn', '-dn', '-map_metadata', '-1', '-fflags', '+bitexact');
  if (Number.isFinite(opts.maxDurationS)) args.push('-t', String(opts.maxDurationS + 1));
  if (output === 'length') args.push('-nostats', '-progress', 'pipe:1', '-f', 'null', '-');
  else args.push('-c:a', 'pcm_f32le', '-f', 'wav', 'pipe:1');
  return args;
}

/**
 * Seconds of audio the first audio stream decodes to (up to the cap and a second), decoded by
 * ffmpeg into nothing: the length from the samples themselves, whatever the container claims.
 * Refuses the upload when that passes the cap.
 */
export async function checkDecodedLength(bytes: Uint8Array, input: FfmpegInput, opts: FfmpegOptions): Promise<void> {
  const exe = await ffmpegPath();
  let report = '';
  const { code, stderr } = await run(exe, ffmpegArgs(input, opts, 'length'), bytes, (chunk) => (report = (report + chunk.toString()).slice(-STDERR_KEEP)), opts);
  throwIfCancelled(opts.signal);
  if (code !== 0) throw decodeFailure(input, stderr, code);
  // the last progress block's out_time_us: microseconds of audio written to the null muxer
  const times = [...report.matchAll(/^out_time_us=(\d+)$/gm)];
  const seconds = times.length ? Number(times[times.length - 1][1]) / 1e6 : 0;
  if (seconds > opts.maxDurationS) throw audioTooLong(seconds, opts.maxDurationS, { decodedSoFar: true });
}

const lastError = (stderr: string, code: number | null) =>
  (stderr.trim().split('\n').filter((line) => !/^\[cache @|Last message repeated/.test(line.trim())).pop() || `exit code ${code}`).replaceAll(INPUT_URL, 'input');

const decodeFailure = (input: FfmpegInput, stderr: string, code: number | null) =>
  code === EXIT_ERROR_RATE
    ? undecodableAudio(`${input.container}: more than ${MAX_ERROR_RATE * 100} % of its packets are corrupt, the stream is not valid ${input.container} (${lastError(stderr, code)})`)
    : undecodableAudio(`${input.container}: ${lastError(stderr, code)}`);

/** The kernel limits one ffmpeg run on `bytes` gets. */
export const ffmpegLimits = (bytes: Uint8Array): ChildLimits => ({
  cpuSeconds: FFMPEG_CPU_S,
  addressSpaceBytes: FFMPEG_ADDRESS_SPACE,
  fileSizeBytes: bytes.length + CACHE_FILE_SLACK,
});

/** Decodes the first audio stream of a container into `sink`. */
export async function decodeWithFfmpeg(bytes: Uint8Array, input: FfmpegInput, sink: MonoSink, opts: FfmpegOptions): Promise<void> {
  const exe = await ffmpegPath();
  const reader = new WavStreamReader(sink);
  const { code, stderr, refusal } = await run(exe, ffmpegArgs(input, opts), bytes, (chunk) => reader.push(chunk), opts);
  throwIfCancelled(opts.signal);
  if (refusal) throw refusal;
  if (code !== 0) throw decodeFailure(input, stderr, code);
  if (sink.frames === 0) throw undecodableAudio(`${input.container}: ffmpeg produced no audio`);
}

/** Interleaved f32le WAV arriving in pieces → planar chunks into the sink. */
class WavStreamReader {
  private pending: Buffer = Buffer.alloc(0);
  private channels = 0;
  private sampleRate = 0;
  private planes: Float32Array[] = [];

  constructor(private readonly sink: MonoSink) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (this.channels === 0) {
      const header = readWavHeader(this.pending);
      if (!header) return;
      this.channels = header.fmt.channels;
      this.sampleRate = header.fmt.sampleRate;
      this.pending = this.pending.subarray(header.dataOffset);
    }
    const frameBytes = 4 * this.channels;
    const frames = Math.floor(this.pending.length / frameBytes);
    if (frames === 0) return;
    // copied into an aligned array: pipe chunks start at any byte offset
    const interleaved = new Float32Array(frames * this.channels);
    new Uint8Array(interleaved.buffer).set(this.pending.subarray(0, frames * frameBytes));
    this.pending = this.pending.subarray(frames * frameBytes);
    if (this.planes.length !== this.channels || this.planes[0].length < frames)
      this.planes = Array.from({ length: this.channels }, () => new Float32Array(frames));
    for (let c = 0; c < this.channels; c++) {
      const plane = this.planes[c];
      for (let i = 0, at = c; i < frames; i++, at += this.channels) plane[i] = interleaved[at];
    }
    this.sink.add(this.planes, this.sampleRate, frames);
  }
}

const KILLED_BECAUSE: Partial<Record<NodeJS.Signals, string>> = {
  SIGKILL: 'time limit', SIGXCPU: 'CPU limit', SIGXFSZ: 'file size limit', SIGSEGV: 'crashed, or out of its address space limit',
};

interface RunResult {
  code: number | null;
  stderr: string;
  /** The sink's error that stopped the decode (ffmpeg was killed for it). */
  refusal?: StageError;
}

/** Runs ffmpeg on `bytes` (its stdin), handing stdout to `onOutput`; killed when that throws or the request is cancelled. */
function run(exe: string, args: string[], bytes: Uint8Array, onOutput: (chunk: Buffer) => void, { signal, onChild }: FfmpegOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    throwIfCancelled(signal);
    const limited = limitedCommand(exe, args, ffmpegLimits(bytes));
    const child = spawn(limited.command, limited.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    onChild?.(1);
    let refusal: StageError | undefined;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    const kill = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', kill, { once: true });
    // ffmpeg may stop reading early (an error, or killed): the rest of the upload is dropped
    child.stdin.on('error', () => {});
    child.stdin.end(bytes);
    child.stdout.on('data', (chunk: Buffer) => {
      if (refusal) return;
      try {
        onOutput(chunk);
      } catch (err) {
        refusal = err instanceof StageError ? err : undecodableAudio(`ffmpeg output unreadable: ${(err as Error).message}`);
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-STDERR_KEEP)));
    let ended = false;
    const done = () => {
      if (ended) return; // 'close' may follow 'error'
      ended = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      onChild?.(-1);
    };
    child.on('error', (err) => {
      done();
      reject(unsupportedAudio(`could not run ffmpeg (${err.message})`));
    });
    child.on('close', (code, killedBy) => {
      done();
      const why = killedBy && !refusal ? `ffmpeg killed by ${killedBy} (${KILLED_BECAUSE[killedBy] ?? 'crashed'})` : stderr;
      resolve({ code: killedBy ? -1 : code, stderr: why, refusal });
    });
  });
}
