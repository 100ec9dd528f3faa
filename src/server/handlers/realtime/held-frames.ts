// Client frames held back while the session waits on something that the events
// after it depend on (a session.update's language check, language-check.ts):
// they are read afterwards in the order they came, and what arrives past the
// byte bound is refused rather than held without limit.

/** A probe takes ~0.1 s; a client at real time sends a few kB in that time. */
export const MAX_HELD_BYTES = 8 * 2 ** 20;

interface Frame {
  data: Buffer;
  isBinary: boolean;
}

export class HeldFrames {
  private frames: Frame[] | undefined;
  private bytes = 0;

  get holding(): boolean {
    return this.frames !== undefined;
  }

  /** Frames from now on are held until release(). */
  hold(): void {
    this.frames ??= [];
  }

  /** Holds the frame; false when the bound is reached (the frame is not held). */
  add(data: Buffer, isBinary: boolean): boolean {
    if (this.bytes + data.length > MAX_HELD_BYTES) return false;
    this.frames!.push({ data, isBinary });
    this.bytes += data.length;
    return true;
  }

  /** Reads the held frames in order with `read`, until one of them holds again: the rest stay held, first. */
  release(read: (data: Buffer, isBinary: boolean) => void, stopped: () => boolean): void {
    const frames = this.frames ?? [];
    this.frames = undefined;
    this.bytes = 0;
    for (const [i, { data, isBinary }] of frames.entries()) {
      if (stopped()) return;
      if (this.frames) {
        const rest = frames.slice(i);
        (this.frames as Frame[]).unshift(...rest);
        this.bytes += rest.reduce((n, f) => n + f.data.length, 0);
        return;
      }
      read(data, isBinary);
    }
  }
}
