// Text deltas of segments decoded in parallel, released in segment order: a
// segment streams live once every segment before it has finished, the rest are
// held until then. The model says what goes at each seam between segments.

/** What goes between the end of one segment's text and the start of the next ('' or ' '). */
export type SeamFn = (before: string, after: string) => string;

/** Releases per-segment deltas in segment order: segment i streams live once segments < i are done. */
export class OrderedDeltas {
  private current = 0;
  private readonly held: string[][];
  private readonly done: boolean[];
  private lastSent = { segment: -1, text: '' };

  constructor(segments: number, private readonly emit: (delta: string) => void, private readonly seam: SeamFn) {
    this.held = Array.from({ length: segments }, () => []);
    this.done = new Array(segments).fill(false);
  }

  push(segment: number, delta: string): void {
    if (!delta) return;
    if (segment === this.current) this.send(segment, delta);
    else this.held[segment].push(delta);
  }

  finish(segment: number): void {
    this.done[segment] = true;
    while (this.current < this.done.length && this.done[this.current]) {
      this.current++;
      for (const delta of this.held[this.current]?.splice(0) ?? []) this.send(this.current, delta);
    }
  }

  private send(segment: number, delta: string): void {
    const first = segment !== this.lastSent.segment;
    const seam = first && this.lastSent.segment >= 0 ? this.seam(this.lastSent.text, delta) : '';
    this.lastSent = { segment, text: delta };
    this.emit(seam + delta);
  }
}
