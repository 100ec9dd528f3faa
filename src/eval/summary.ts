// Per-level numbers from the raw request records: throughput, latency, RTF,
// failures and error rate, the same definitions as sglang-omni's ASR CI
// (successes only; corpus WER = Σ(S+D+I) / Σ reference words).
import path from 'node:path';
import type { LevelRun, RequestRecord } from './load.js';
import { mean, percentile } from './stats.js';
import type { Tokenizer } from './text.js';
import { alignTokens, errorRate, sumCounts, type ErrorCounts } from './wer.js';

export interface SampleResult extends ErrorCounts {
  id: string;
  audio: string;
  durationSeconds: number | null;
  latencySeconds: number;
  /** latency / duration; null when the duration is unknown. */
  rtf: number | null;
  status: number;
  ok: boolean;
  reference: string;
  hypothesis: string | null;
  error: string | null;
  /** Null for failed requests and empty references. */
  errorRate: number | null;
}

export interface LevelResult {
  concurrency: number;
  warmupRequests: number;
  wallSeconds: number;
  requests: number;
  successes: number;
  /** Failed requests by HTTP status ("0" = no response). */
  failures: { count: number; byStatus: Record<string, number>; examples: string[] };
  throughput: { requestsPerSecond: number; audioSecondsPerSecond: number };
  latency: { mean: number | null; p50: number | null; p95: number | null; p99: number | null; min: number | null; max: number | null };
  rtf: { mean: number | null; p95: number | null };
  errorRate: ErrorCounts & {
    unit: 'word' | 'character';
    corpus: number | null;
    maxSample: number | null;
    meanSample: number | null;
  };
  samples: SampleResult[];
}

const MAX_FAILURE_EXAMPLES = 5;

export function summarizeLevel(run: LevelRun, tokenizer: Tokenizer): LevelResult {
  const samples = run.records.map((r) => scoreSample(r, tokenizer));
  const ok = samples.filter((s) => s.ok);
  const failed = samples.filter((s) => !s.ok);
  const latencies = ok.map((s) => s.latencySeconds);
  const rtfs = ok.flatMap((s) => (s.rtf === null ? [] : [s.rtf]));
  const sampleRates = ok.flatMap((s) => (s.errorRate === null ? [] : [s.errorRate]));
  const byStatus: Record<string, number> = {};
  for (const s of failed) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
  const totals = sumCounts(ok);
  const audioSeconds = ok.reduce((sum, s) => sum + (s.durationSeconds ?? 0), 0);
  return {
    concurrency: run.concurrency,
    warmupRequests: run.warmupRequests,
    wallSeconds: run.wallSeconds,
    requests: samples.length,
    successes: ok.length,
    failures: {
      count: failed.length,
      byStatus,
      examples: failed.slice(0, MAX_FAILURE_EXAMPLES).map((s) => `${s.id}: ${s.status || 'no response'} ${s.error ?? ''}`.trim()),
    },
    throughput: { requestsPerSecond: ok.length / run.wallSeconds, audioSecondsPerSecond: audioSeconds / run.wallSeconds },
    latency: {
      mean: mean(latencies),
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      min: latencies.length ? Math.min(...latencies) : null,
      max: latencies.length ? Math.max(...latencies) : null,
    },
    rtf: { mean: mean(rtfs), p95: percentile(rtfs, 95) },
    errorRate: {
      unit: tokenizer.unit,
      ...totals,
      corpus: errorRate(totals),
      maxSample: sampleRates.length ? Math.max(...sampleRates) : null,
      meanSample: mean(sampleRates),
    },
    samples,
  };
}

function scoreSample(r: RequestRecord, tokenizer: Tokenizer): SampleResult {
  const durationSeconds = r.item.durationSeconds ?? r.usageSeconds ?? null;
  const base = {
    id: r.item.id,
    audio: path.basename(r.item.audioPath),
    durationSeconds,
    latencySeconds: r.latencySeconds,
    rtf: durationSeconds ? r.latencySeconds / durationSeconds : null,
    status: r.status,
    ok: r.ok,
    reference: r.item.reference,
    hypothesis: r.text ?? null,
    error: r.error ?? null,
  };
  if (!r.ok) return { ...base, hits: 0, substitutions: 0, deletions: 0, insertions: 0, refTokens: 0, errorRate: null };
  const { hits, substitutions, deletions, insertions, refTokens, errorRate: rate } = alignTokens(
    tokenizer.tokens(r.item.reference),
    tokenizer.tokens(r.text ?? ''),
  );
  return { ...base, hits, substitutions, deletions, insertions, refTokens, errorRate: rate };
}
