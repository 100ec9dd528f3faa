// Pipeline-level admission: up to max_running requests inside the graph, up to
// max_waiting more waiting for a slot in arrival order; past that, an immediate 503.
import type { PipelineError } from './contracts.js';
import { cancelledError, ERR_OVERLOADED, runtimeError } from './errors.js';

export interface AdmissionLimits {
  max_running: number;
  max_waiting: number;
  retry_after_s: number;
}

interface Waiter {
  admit(): void;
  fail(err: PipelineError): void;
}

export type Release = () => void;

export class Admission {
  private running = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly limits: AdmissionLimits) {}

  get counts(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Resolves with a release function once the request may run. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(cancelledError());
    if (this.running < this.limits.max_running) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.limits.max_waiting) {
      const { max_running, max_waiting, retry_after_s } = this.limits;
      return Promise.reject(runtimeError(ERR_OVERLOADED, `server is at capacity (${max_running} running, ${max_waiting} waiting)`, retry_after_s));
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        this.remove(waiter);
        reject(cancelledError());
      };
      const waiter: Waiter = {
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.releaser());
        },
        fail: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  /** Rejects everyone still waiting (shutdown). */
  rejectWaiting(err: PipelineError): void {
    for (const waiter of this.waiting.splice(0)) waiter.fail(err);
  }

  private remove(waiter: Waiter): void {
    const i = this.waiting.indexOf(waiter);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `running` only drops when nobody waits.
      if (next) next.admit();
      else this.running--;
    };
  }
}
