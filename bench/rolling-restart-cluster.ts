// The pieces bench/rolling-restart.ts drives: `sgl-omni serve` replicas on fixed
// ports, HAProxy on deploy/haproxy.cfg (addresses through its environment), and a
// steady load of transcriptions through the balancer that records each request
// by the id it sends as X-Request-Id (HAProxy logs it beside the server it chose).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { repoRoot } from '../src/util/paths.js';

/** A port free now on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls url until it answers 200; rejects after timeoutMs or when `alive` says the process ended. */
export async function until200(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (!alive()) throw new Error(`${url}: the process ended before answering 200`);
    const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => (r.body?.cancel(), r.status), () => 0);
    if (status === 200) return;
    await pause(100);
  }
  throw new Error(`${url}: no 200 within ${timeoutMs} ms`);
}

export class Replica {
  readonly child: ChildProcess;
  readonly exited: Promise<number | string>;

  constructor(readonly name: string, readonly port: number, args: string[], readonly logFile: string) {
    const log = fs.openSync(logFile, 'a');
    this.child = spawn(process.execPath, [path.join(repoRoot(), 'bin/sgl-omni.js'), 'serve', '--port', String(port), ...args], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async ready(timeoutMs = 180_000): Promise<void> {
    try {
      await until200(`http://127.0.0.1:${this.port}/readyz`, timeoutMs, () => this.alive);
    } catch (err) {
      const tail = fs.readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-3).join('\n');
      throw new Error(`${this.name}: ${(err as Error).message} (exit ${this.child.exitCode ?? this.child.signalCode}); ${this.logFile}:\n${tail}`);
    }
  }
}

export interface RequestLog {
  server: string;
  status: number;
  /** HAProxy's termination state: `----` for a normal end, `SH--`/`SD--` when the server went away. */
  term: string;
}

/** HAProxy on deploy/haproxy.cfg; follows its log for server state changes and request lines. */
export class Balancer {
  readonly child: ChildProcess;
  readonly requests = new Map<string, RequestLog>();
  readonly events: { at: number; server: string; state: 'UP' | 'DOWN' }[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(readonly port: number, replicas: Replica[], logFile: string, binary = 'haproxy') {
    const env: NodeJS.ProcessEnv = { ...process.env, SGL_OMNI_LB_BIND: `127.0.0.1:${port}` };
    replicas.forEach((r, i) => (env[`SGL_OMNI_REPLICA_${i + 1}`] = `127.0.0.1:${r.port}`));
    this.child = spawn(binary, ['-db', '-f', path.join(repoRoot(), 'deploy/haproxy.cfg')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = fs.createWriteStream(logFile);
    this.child.stderr!.pipe(log);
    readline.createInterface({ input: this.child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      const state = /Server sgl_omni\/(\S+) is (UP|DOWN)/.exec(line);
      if (state) this.events.push({ at: performance.now(), server: state[1], state: state[2] as 'UP' | 'DOWN' });
      // ... sgl_omni/r2 0/0/0/12/40 200 1234 ---- {b-17}
      const request = / sgl_omni\/(\S+) [-\d]+\/[-\d]+\/[-\d]+\/[-\d]+\/[-\d]+ (-?\d+) \d+ (\S{4}) \{([^}]*)\}/.exec(line);
      if (request) this.requests.set(request[4], { server: request[1], status: Number(request[2]), term: request[3] });
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves at the first `server` `state` event after `since` (performance.now()); its time. */
  async state(server: string, state: 'UP' | 'DOWN', since: number, timeoutMs: number): Promise<number> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const event = this.events.find((e) => e.server === server && e.state === state && e.at >= since);
      if (event) return event.at;
      if (performance.now() > end) throw new Error(`HAProxy did not mark ${server} ${state} within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), pause(100)]);
    }
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

export interface Outcome {
  id: string;
  status: number;
  /** No answer within the timeout. */
  lost: boolean;
  /** Why it failed, when it did without a status. */
  error?: string;
}

/** `concurrency` clients posting `wav` through the balancer back to back until stop(). */
export class Load {
  readonly outcomes: Outcome[] = [];
  readonly outstanding = new Set<string>();
  private running = true;
  private readonly loops: Promise<void>[];
  private next = 0;

  constructor(url: string, wav: Uint8Array, concurrency: number, fields: Record<string, string>, readonly prefix: string, timeoutMs = 120_000) {
    const one = async () => {
      const id = `${this.prefix}-${this.next++}`;
      const form = new FormData();
      form.append('file', new Blob([Uint8Array.from(wav)], { type: 'audio/wav' }), 'jfk.wav');
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      this.outstanding.add(id);
      const outcome: Outcome = await fetch(url, { method: 'POST', body: form, headers: { 'x-request-id': id }, signal: AbortSignal.timeout(timeoutMs) }).then(
        async (res) => {
          const body = await res.arrayBuffer().then(() => undefined, (err: Error) => err);
          return body ? { id, status: 0, lost: false, error: `answer cut: ${body.message}` } : { id, status: res.status, lost: false };
        },
        (err: Error & { cause?: Error }) => ({ id, status: 0, lost: err.name === 'TimeoutError', error: `${err.message}${err.cause ? `: ${err.cause.message}` : ''}` }),
      );
      this.outstanding.delete(id);
      this.outcomes.push(outcome);
    };
    this.loops = Array.from({ length: concurrency }, async () => {
      while (this.running) await one();
    });
  }

  get done(): number {
    return this.outcomes.length;
  }

  /** Resolves once `n` requests have finished. */
  async reach(n: number): Promise<void> {
    while (this.done < n) await pause(20);
  }

  /** Stops sending; resolves when every request sent has its outcome. */
  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.loops);
    return this.outcomes;
  }
}
