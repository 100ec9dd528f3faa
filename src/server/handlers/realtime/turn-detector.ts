// server_vad turn detection on live audio: Silero's rule (stages/silero-vad/
// regions.ts, for whole files) made incremental. Speech starts at a window whose
// probability reaches `threshold` and counts once it has lasted 250 ms (shorter
// bursts are dropped, as Silero drops them); it stops once the probability stays
// below threshold - 0.15 for `silence_duration_ms`. Positions are 16 kHz sample
// indices from the start of the session's audio.
import { WINDOW } from '../../../../stages/silero-vad/model.js';
import type { VadSettings } from '../../../../stages/silero-vad/regions.js';
import { samplesIn } from './audio-formats.js';

const MIN_SPEECH_MS = 250;
/** Kept after the last speech window: Silero's probability falls before a trailing consonant ends. */
export const TAIL_PADDING_MS = 100;
const HYSTERESIS = 0.15;

export type TurnEvent =
  /** Speech confirmed; `at` is where it began, before the prefix padding. */
  | { type: 'start'; at: number }
  /** Speech over; `at` is where the silence began. */
  | { type: 'stop'; at: number };

export class TurnDetector {
  private window = 0;
  private start = -1;
  private confirmed = false;
  private silentFrom = -1;

  constructor(private readonly settings: VadSettings) {}

  get speaking(): boolean {
    return this.confirmed;
  }

  /** The events that the next windows' probabilities cause, in order. */
  push(probs: Float32Array): TurnEvent[] {
    const events: TurnEvent[] = [];
    const { threshold, silence_duration_ms } = this.settings;
    const neg = Math.max(threshold - HYSTERESIS, 0.01);
    const minSilence = samplesIn(silence_duration_ms);
    const minSpeech = samplesIn(MIN_SPEECH_MS);
    for (const p of probs) {
      const at = this.window++ * WINDOW;
      if (p >= threshold) {
        this.silentFrom = -1;
        if (this.start < 0) this.start = at;
      } else if (this.start >= 0 && p < neg) {
        if (this.silentFrom < 0) this.silentFrom = at;
        if (at + WINDOW - this.silentFrom >= minSilence || !this.confirmed) {
          // a burst shorter than 250 ms ends at its first silent window; confirmed speech needs the full silence
          if (this.confirmed) events.push({ type: 'stop', at: this.silentFrom });
          this.reset();
          continue;
        }
      }
      if (this.start >= 0 && !this.confirmed && at + WINDOW - this.start >= minSpeech) {
        this.confirmed = true;
        events.push({ type: 'start', at: this.start });
      }
    }
    return events;
  }

  /** Forgets the speech in progress (a manual commit or clear took its audio). */
  reset(): void {
    this.start = -1;
    this.confirmed = false;
    this.silentFrom = -1;
  }
}
