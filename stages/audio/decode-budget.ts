// Bytes of 16 kHz output the decode stage's requests may hold at once. Every admitted request
// decodes at the same time (taking turns, so each gets its share of the CPU: issue 11, four
// hostile uploads in four decode slots held a 1 s WAV for 31.6 s); this budget, not a slot
// count, is what bounds their memory. A request reserves what its declared length will commit
// before it starts (the cap when the length is unknown) and waits only when that does not fit:
// a long upload waits for room, a short one behind it does not.

import { cancelledError } from '../../src/runtime/errors.js';

interface Waiter {
  bytes: number;
  grant: () => void;
}

export class DecodeBudget {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly totalBytes: number) {}

  get usedBytes(): number {
    return this.used;
  }

  /** Takes `bytes` now if they fit. */
  tryTake(bytes: number): boolean {
    if (this.used + bytes > this.totalBytes) return false;
    this.used += bytes;
    return true;
  }

  /** Resolves once `bytes` are taken; waiters that fit go first, whatever their place (no head-of-line blocking). */
  take(bytes: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(cancelledError());
    if (this.tryTake(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { bytes, grant: resolve };
      this.waiters.push(waiter);
      signal.addEventListener('abort', () => {
        const at = this.waiters.indexOf(waiter);
        if (at < 0) return;
        this.waiters.splice(at, 1);
        reject(cancelledError());
      }, { once: true });
    });
  }

  give(bytes: number): void {
    this.used -= bytes;
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      if (this.tryTake(waiter.bytes)) {
        this.waiters.splice(i, 1);
        waiter.grant();
      } else i++;
    }
  }
}
