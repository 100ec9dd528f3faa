// The bench: loads a manifest, runs it at each concurrency level against an
// OpenAI-compatible server, scores it, checks gates and writes the reports.
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../util/paths.js';
import { discoverModel, routeUrls, transcribe, type Endpoint } from './client.js';
import { EvalError } from './errors.js';
import { runLevel } from './load.js';
import { loadManifest } from './manifest.js';
import type { Progress } from '../util/progress.js';
import { renderHtmlReport } from './report/html.js';
import { summarizeLevel, type LevelResult } from './summary.js';
import { tokenizerFor } from './text.js';
import { checkGates, getPreset, loadThresholds, type GateResult } from './thresholds.js';

export interface BenchOptions {
  url: string;
  /** JSONL manifest path. */
  dataset: string;
  concurrency: number[];
  /** Model id sent with each request; default: the first id from GET /v1/models. */
  model?: string;
  /** Language hint and scoring language; default: the preset's, else "en". */
  language?: string;
  /** Warm-up requests per level; default 2 × concurrency, as sglang-omni's CI, at most one per clip. */
  warmup?: number;
  /** Use only the first N manifest entries. */
  limit?: number;
  /** Thresholds YAML; default configs/eval/thresholds.yaml when a preset is named. */
  thresholdsFile?: string;
  preset?: string;
  apiKey?: string;
  timeoutSeconds?: number;
  progress?: Progress;
}

export interface GateReport {
  preset: string;
  description?: string;
  thresholdsFile: string;
  concurrency: number;
  results: GateResult[];
  passed: boolean;
}

export interface BenchResult {
  tool: 'sgl-omni bench';
  startedAt: string;
  finishedAt: string;
  url: string;
  transcriptionsUrl: string;
  model: string;
  language: string;
  dataset: { manifest: string; samples: number; audioSeconds: number | null };
  levels: LevelResult[];
  gates: GateReport | null;
}

export const defaultThresholdsFile = (): string => path.join(repoRoot(), 'configs', 'eval', 'thresholds.yaml');

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const levels = validateLevels(options.concurrency);
  if (options.thresholdsFile && !options.preset) throw new EvalError('bad_option', '--thresholds needs --preset NAME');
  const thresholdsFile = options.preset ? (options.thresholdsFile ?? defaultThresholdsFile()) : undefined;
  const thresholds = thresholdsFile ? loadThresholds(thresholdsFile) : undefined;
  const preset = thresholds && options.preset ? getPreset(thresholds, options.preset) : undefined;
  if (preset && !levels.includes(preset.concurrency)) {
    throw new EvalError('level_not_run', `preset ${preset.name} is gated at concurrency ${preset.concurrency}; add it to --concurrency`);
  }
  const language = options.language ?? preset?.language ?? 'en';
  const items = loadManifest(options.dataset, options.limit);
  const urls = routeUrls(options.url);
  const model = options.model ?? (await discoverModel(urls.models, options.apiKey)) ?? 'default';
  const endpoint: Endpoint = {
    transcriptionsUrl: urls.transcriptions,
    model,
    language,
    apiKey: options.apiKey,
    timeoutMs: (options.timeoutSeconds ?? 600) * 1000,
  };
  const tokenizer = tokenizerFor(language);

  const startedAt = new Date().toISOString();
  const results: LevelResult[] = [];
  for (const concurrency of levels) {
    const warmupRequests = options.warmup ?? Math.min(2 * concurrency, items.length);
    // The bar counts the measured requests only; the warm-ups are in its label.
    options.progress?.start(`concurrency ${concurrency} (after ${warmupRequests} warm-up)`, items.length);
    const run = await runLevel(items, (item) => transcribe(endpoint, item), {
      concurrency,
      warmupRequests,
      onRequestDone: (phase) => phase === 'timed' && options.progress?.tick(),
    });
    options.progress?.stop();
    results.push(summarizeLevel(run, tokenizer));
  }

  const durations = items.map((i) => i.durationSeconds);
  let gates: GateReport | null = null;
  if (thresholds && preset && thresholdsFile) {
    const gated = results.find((l) => l.concurrency === preset.concurrency)!;
    const gateResults = checkGates(thresholds, preset, gated);
    gates = {
      preset: preset.name,
      description: preset.description,
      thresholdsFile,
      concurrency: preset.concurrency,
      results: gateResults,
      passed: gateResults.every((g) => g.pass),
    };
  }
  return {
    tool: 'sgl-omni bench',
    startedAt,
    finishedAt: new Date().toISOString(),
    url: options.url,
    transcriptionsUrl: urls.transcriptions,
    model,
    language,
    dataset: {
      manifest: path.resolve(options.dataset),
      samples: items.length,
      audioSeconds: durations.every((d) => d !== null) ? durations.reduce((a, b) => a + (b as number), 0) : null,
    },
    levels: results,
    gates,
  };
}

function validateLevels(levels: number[]): number[] {
  if (levels.length === 0) throw new EvalError('bad_option', '--concurrency needs at least one level');
  for (const c of levels) {
    if (!Number.isInteger(c) || c < 1) throw new EvalError('bad_option', `concurrency ${c} is not a positive integer`);
  }
  return [...new Set(levels)];
}

/** Writes results.json and report.html into outDir; returns their paths. */
export function writeReports(result: BenchResult, outDir: string): { json: string; html: string } {
  fs.mkdirSync(outDir, { recursive: true });
  const json = path.join(outDir, 'results.json');
  const html = path.join(outDir, 'report.html');
  fs.writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  fs.writeFileSync(html, renderHtmlReport(result));
  return { json, html };
}
