// Text deltas of segments decoded in parallel, released in segment order: a
// segment streams live once every segment before it has finished, the rest are
// held until then. The model says what goes at each seam between segments. A
// delta may carry the log-probabilities of its tokens (opaque here); one with
// log-probabilities and no text is still sent, so none are lost.

/** What goes between the end of one segment's text and the start of the next ('' or ' '). */
export type SeamFn = (before: string, after: string) => string;

/** Releases per-segment deltas in segment order: segment i streams live once segments < i are done. */
export class OrderedDeltas {
  private current = 0;
  private readonly held: { delta: string; logprobs?: unknown[] }[][];
  private readonly done: boolean[];
  private lastSent = { segment: -1, text: '' };

  constructor(segments: number, private readonly emit: (delta: string, logprobs?: unknown[]) => void, private readonly seam: SeamFn) {
    this.held = Array.from({ length: segments }, () => []);
    this.done = new Array(segments).fill(false);
  }

  push(segment: number, delta: string, logprobs?: unknown[]): void {
    if (!delta && !logprobs?.length) return;
    if (segment === this.current) this.send(segment, delta, logprobs);
    else this.held[segment].push({ delta, logprobs });
  }

  finish(segment: number): void {
    this.done[segment] = true;
    while (this.current < this.done.length && this.done[this.current]) {
      this.current++;
      for (const { delta, logprobs } of this.held[this.current]?.splice(0) ?? []) this.send(this.current, delta, logprobs);
    }
  }

  private send(segment: number, delta: string, logprobs?: unknown[]): void {
    if (!delta) return this.emit('', logprobs);
    const first = segment !== this.lastSent.segment;
    const seam = first && this.lastSent.segment >= 0 ? this.seam(this.lastSent.text, delta) : '';
    this.lastSent = { segment, text: delta };
    this.emit(seam + delta, logprobs);
  }
}
