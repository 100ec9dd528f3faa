// Prometheus metrics of the transcription route (the openai-transcription handler's
// own, kept in the server's registry): seconds of audio transcribed, tokens
// generated and the real-time factor of each successful transcription.
import { Counter, Histogram, type Registry } from 'prom-client';
import type { TranscriptionResult } from '../../../contracts/transcription.js';
import type { ServerMetrics } from '../../metrics.js';

const RTF_BUCKETS = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

export class TranscriptionMetrics {
  private readonly audioSeconds: Counter;
  private readonly generatedTokens: Counter;
  private readonly rtf: Histogram;

  constructor(registry: Registry, prefix: string) {
    const registers = [registry];
    this.audioSeconds = new Counter({ name: `${prefix}audio_seconds_processed_total`, help: 'Seconds of audio transcribed successfully', registers });
    this.generatedTokens = new Counter({ name: `${prefix}generated_tokens_total`, help: 'Tokens generated for successful transcriptions (the segments’ tokens)', registers });
    this.rtf = new Histogram({ name: `${prefix}transcription_rtf`, help: 'Real-time factor of successful transcriptions (processing time / audio duration)', buckets: RTF_BUCKETS, registers });
  }

  /** The server's one instance (every transcription route adds to the same series). */
  static of(metrics: ServerMetrics): TranscriptionMetrics {
    return metrics.handlerMetrics('openai-transcription', (registry, prefix) => new TranscriptionMetrics(registry, prefix));
  }

  observe(result: TranscriptionResult, processingSeconds: number): void {
    this.audioSeconds.inc(result.duration);
    this.generatedTokens.inc(result.segments.reduce((sum, segment) => sum + segment.tokens.length, 0));
    if (result.duration > 0) this.rtf.observe(processingSeconds / result.duration);
  }
}
