// Kernel resource limits for the ffmpeg child. The bundled ffmpeg (@ffmpeg-installer, a 2018
// static build: no newer one ships inside an npm tarball, ffmpeg-static and
// ffmpeg-ffprobe-static download theirs from GitHub at install time) parses hostile bytes, so a
// bug in one of its demuxers or decoders must not cost more than a bounded share of the host:
//  - CPU seconds (RLIMIT_CPU: SIGXCPU, then SIGKILL), beside the wall-clock timeout, so that a
//    child on a loaded machine cannot spin on every core it gets;
//  - address space (RLIMIT_AS): an audio decode needs tens of MB (measured VmPeak 60-110 MB,
//    threads' stacks included), a runaway allocation fails instead of taking the host's memory;
//  - no core files (RLIMIT_CORE 0): a crash leaves nothing of the upload on disk;
//  - file size (RLIMIT_FSIZE): the one file ffmpeg writes is the `cache:` protocol's unlinked
//    temp copy of the upload, so the limit is the upload's size and a little more.
// Limits are set by util-linux `prlimit` when it is installed, else by the POSIX shell's
// `ulimit` builtins (/bin/sh is on every system ffmpeg runs on); both set soft and hard limits,
// so ffmpeg cannot raise them again.
import fs from 'node:fs';
import path from 'node:path';

export interface ChildLimits {
  cpuSeconds: number;
  addressSpaceBytes: number;
  fileSizeBytes: number;
}

export interface LimitedCommand {
  command: string;
  args: string[];
  /** Which tool applies the limits. */
  via: 'prlimit' | 'sh';
}

/** The first `prlimit` on PATH, looked up once. */
let prlimitPath: string | null | undefined;

function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  prlimitPath = null;
  for (const dir of [...dirs, '/usr/bin', '/bin']) {
    const candidate = path.join(dir, 'prlimit');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return (prlimitPath = candidate);
    } catch {
      // not here
    }
  }
  return prlimitPath;
}

/** `exe args` wrapped so that it starts under `limits` (prlimit when present, unless `via` says otherwise). */
export function limitedCommand(exe: string, args: string[], limits: ChildLimits, via: 'prlimit' | 'sh' | 'auto' = 'auto'): LimitedCommand {
  const cpu = Math.max(1, Math.ceil(limits.cpuSeconds));
  const as = Math.ceil(limits.addressSpaceBytes);
  const fsize = Math.ceil(limits.fileSizeBytes);
  const prlimit = via === 'sh' ? null : findPrlimit();
  if (prlimit) {
    return { command: prlimit, args: [`--cpu=${cpu}`, `--as=${as}`, '--core=0', `--fsize=${fsize}`, '--', exe, ...args], via: 'prlimit' };
  }
  if (via === 'prlimit') throw new Error('prlimit (util-linux) is not installed');
  // POSIX ulimit units: -v in KiB, -f in 512-byte blocks; one resource per call (dash takes only one)
  const script = `ulimit -t ${cpu} && ulimit -v ${Math.ceil(as / 1024)} && ulimit -c 0 && ulimit -f ${Math.ceil(fsize / 512)} && exec "$0" "$@"`;
  return { command: '/bin/sh', args: ['-c', script, exe, ...args], via: 'sh' };
}
