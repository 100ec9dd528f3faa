// Gates as data: reference values per preset from a YAML file (see
// configs/eval/thresholds.yaml), checked against one bench level.
import fs from 'node:fs';
import YAML from 'yaml';
import { EvalError } from './errors.js';
import type { LevelResult } from './summary.js';

export type Direction = 'lower' | 'higher';

export interface Preset {
  name: string;
  description?: string;
  concurrency: number;
  language?: string;
  reference: Record<string, number>;
}

export interface Thresholds {
  tolerance: Record<Direction, number>;
  direction: Record<string, Direction>;
  presets: Record<string, Preset>;
}

export interface GateResult {
  metric: string;
  direction: Direction;
  reference: number;
  /** reference × tolerance: the largest (lower) or smallest (higher) passing value. */
  limit: number;
  /** Null when the level has no value (e.g. no successful request). */
  value: number | null;
  pass: boolean;
}

/** How each metric name in the YAML reads off a level. */
const METRICS: Record<string, (l: LevelResult) => number | null> = {
  wer_corpus: (l) => l.errorRate.corpus,
  wer_sample_max: (l) => l.errorRate.maxSample,
  throughput_rps: (l) => l.throughput.requestsPerSecond,
  audio_rate: (l) => l.throughput.audioSecondsPerSecond,
  latency_mean_s: (l) => l.latency.mean,
  latency_p95_s: (l) => l.latency.p95,
  latency_p99_s: (l) => l.latency.p99,
  rtf_mean: (l) => l.rtf.mean,
  rtf_p95: (l) => l.rtf.p95,
  failures: (l) => l.failures.count,
};

export function loadThresholds(file: string): Thresholds {
  let doc: unknown;
  try {
    doc = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new EvalError('bad_thresholds', `cannot read thresholds ${file}: ${(err as Error).message}`);
  }
  const bad = (why: string) => new EvalError('bad_thresholds', `${file}: ${why}`);
  const root = doc as Partial<Thresholds> | null;
  const tolerance = root?.tolerance;
  if (!tolerance || !(tolerance.lower >= 1) || !(tolerance.higher > 0 && tolerance.higher <= 1)) {
    throw bad('tolerance needs lower ≥ 1 and 0 < higher ≤ 1');
  }
  const direction = root.direction ?? {};
  for (const [metric, dir] of Object.entries(direction)) {
    if (!(metric in METRICS)) throw bad(`unknown metric "${metric}" (known: ${Object.keys(METRICS).join(', ')})`);
    if (dir !== 'lower' && dir !== 'higher') throw bad(`direction of ${metric} must be "lower" or "higher"`);
  }
  const presets: Record<string, Preset> = {};
  for (const [name, raw] of Object.entries(root.presets ?? {})) {
    const p = raw as Partial<Preset>;
    if (!Number.isInteger(p.concurrency) || (p.concurrency as number) < 1) throw bad(`preset ${name}: concurrency must be a positive integer`);
    for (const [metric, value] of Object.entries(p.reference ?? {})) {
      if (!(metric in direction)) throw bad(`preset ${name}: metric "${metric}" has no direction`);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw bad(`preset ${name}: ${metric} must be a number ≥ 0`);
    }
    presets[name] = { name, description: p.description, concurrency: p.concurrency as number, language: p.language, reference: p.reference ?? {} };
  }
  return { tolerance, direction, presets };
}

export function getPreset(thresholds: Thresholds, name: string): Preset {
  const preset = thresholds.presets[name];
  if (!preset) throw new EvalError('unknown_preset', `no preset "${name}" (known: ${Object.keys(thresholds.presets).join(', ')})`);
  return preset;
}

export function checkGates(thresholds: Thresholds, preset: Preset, level: LevelResult): GateResult[] {
  return Object.entries(preset.reference).map(([metric, reference]) => {
    const direction = thresholds.direction[metric];
    const limit = reference * thresholds.tolerance[direction];
    const value = METRICS[metric](level);
    const pass = value !== null && (direction === 'lower' ? value <= limit : value >= limit);
    return { metric, direction, reference, limit, value, pass };
  });
}
