// `sgl-omni bench`: the CLI face of the evaluation harness. Loaded by the
// sgl-omni CLI (src/cli.ts addExtensions, as the model folders' `cli:` modules
// are); it talks only HTTP to the server under test, so it measures this
// project and its peers alike.
import { Command, InvalidArgumentError } from 'commander';
import { runBench, writeReports, type BenchResult } from './bench.js';
import { EvalError } from './errors.js';
import { createProgress } from '../util/progress.js';

/** Exit status when a gate fails; bad input exits 2; failed requests (without --allow-failures) 3. */
export const EXIT_GATE_FAILED = 1;
export const EXIT_BAD_INPUT = 2;
export const EXIT_REQUESTS_FAILED = 3;

function wholeNumber(flag: string, min: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number ≥ ${min}`);
    return n;
  };
}

function concurrencyList(value: string): number[] {
  const levels = value.split(',').map((v) => Number(v.trim()));
  if (levels.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError('use positive integers, e.g. 1,8,32');
  return levels;
}

interface BenchFlags {
  url: string;
  dataset: string;
  concurrency: number[];
  out: string;
  model?: string;
  language?: string;
  warmup?: number;
  limit?: number;
  thresholds?: string;
  preset?: string;
  apiKey?: string;
  timeout: number;
  allowFailures?: boolean;
}

export function registerCommands(program: Command): void {
  program
    .command('bench')
    .description('send a speech dataset to an OpenAI-compatible /v1/audio/transcriptions server; report throughput, latency, RTF and WER')
    .requiredOption('--url <url>', 'server root, …/v1 base or full transcriptions URL')
    .requiredOption('--dataset <manifest.jsonl>', 'JSONL lines {"audio": path relative to the manifest, "text": reference}')
    .option('--concurrency <n[,n...]>', 'concurrency levels, run in order', concurrencyList, [1])
    .requiredOption('--out <dir>', 'folder for results.json and report.html')
    .option('--model <id>', 'model id to send (default: first id from GET /v1/models)')
    .option('--language <code>', 'language hint and scoring (en: Whisper-normalised WER; zh: CER); default: preset language or en')
    .option('--warmup <n>', 'warm-up requests per level (default: 2 × concurrency, at most the number of clips)', wholeNumber('--warmup', 0))
    .option('--limit <n>', 'use only the first n clips of the manifest', wholeNumber('--limit', 1))
    .option('--thresholds <file>', 'thresholds YAML (default: configs/eval/thresholds.yaml)')
    .option('--preset <name>', 'gate the run against this preset; exit 1 when a gate fails')
    .option('--api-key <key>', 'sent as a Bearer token')
    .option('--timeout <seconds>', 'per-request timeout', wholeNumber('--timeout', 1), 600)
    .option('--allow-failures', `exit 0 even when requests failed (default: exit ${EXIT_REQUESTS_FAILED}; failures are still reported)`)
    .action(async (flags: BenchFlags) => {
      process.exitCode = await benchCommand(flags);
    });
}

async function benchCommand(flags: BenchFlags): Promise<number> {
  let result: BenchResult;
  try {
    result = await runBench({
      url: flags.url,
      dataset: flags.dataset,
      concurrency: flags.concurrency,
      model: flags.model,
      language: flags.language,
      warmup: flags.warmup,
      limit: flags.limit,
      thresholdsFile: flags.thresholds,
      preset: flags.preset,
      apiKey: flags.apiKey,
      timeoutSeconds: flags.timeout,
      progress: createProgress(),
    });
  } catch (err) {
    if (!(err instanceof EvalError)) throw err;
    process.stderr.write(`sgl-omni bench: ${err.message}\n`);
    return EXIT_BAD_INPUT;
  }
  const files = writeReports(result, flags.out);
  process.stdout.write(formatSummary(result) + `\nwrote ${files.json}\nwrote ${files.html}\n`);
  if (result.gates && !result.gates.passed) return EXIT_GATE_FAILED;
  const failed = result.levels.reduce((sum, l) => sum + l.failures.count, 0);
  if (failed === 0 || flags.allowFailures) return 0;
  const requests = result.levels.reduce((sum, l) => sum + l.requests, 0);
  process.stderr.write(`sgl-omni bench: ${failed} of ${requests} requests failed (first: ${result.levels.flatMap((l) => l.failures.examples)[0]}); --allow-failures accepts that\n`);
  return EXIT_REQUESTS_FAILED;
}

const f = (v: number | null, digits = 3) => (v === null ? '-' : v.toFixed(digits));

/** Plain-text table of the levels and gates, for the terminal and CI logs. */
export function formatSummary(result: BenchResult): string {
  const lines = [`model ${result.model} at ${result.transcriptionsUrl}, ${result.dataset.samples} clips, language ${result.language}`];
  for (const l of result.levels) {
    const failures = Object.entries(l.failures.byStatus).map(([s, n]) => `${n}x${s === '0' ? 'no-response' : s}`).join(' ');
    lines.push(
      `c=${l.concurrency}: ok ${l.successes}/${l.requests}${failures ? ` (failed: ${failures})` : ''} | ` +
        `${f(l.throughput.requestsPerSecond)} req/s, ${f(l.throughput.audioSecondsPerSecond, 2)} audio s/s | ` +
        `latency mean ${f(l.latency.mean)} p50 ${f(l.latency.p50)} p95 ${f(l.latency.p95)} p99 ${f(l.latency.p99)} s | ` +
        `RTF mean ${f(l.rtf.mean, 4)} p95 ${f(l.rtf.p95, 4)} | ` +
        `${l.errorRate.unit === 'character' ? 'CER' : 'WER'} ${f(l.errorRate.corpus === null ? null : l.errorRate.corpus * 100, 2)}% ` +
        `(S ${l.errorRate.substitutions} D ${l.errorRate.deletions} I ${l.errorRate.insertions} / ${l.errorRate.refTokens}), worst sample ${f(l.errorRate.maxSample, 4)}`,
    );
    // The cause on the console, not only in results.json (ECONNREFUSED, the server's error message...).
    for (const example of l.failures.examples) lines.push(`  failed ${example}`);
  }
  const g = result.gates;
  if (g) {
    lines.push(`gates (${g.preset} at concurrency ${g.concurrency}): ${g.passed ? 'PASSED' : 'FAILED'}`);
    for (const r of g.results) {
      lines.push(`  ${r.pass ? 'pass' : 'FAIL'} ${r.metric} = ${f(r.value, 4)} (${r.direction === 'lower' ? '<=' : '>='} ${f(r.limit, 4)}, reference ${r.reference})`);
    }
  }
  return lines.join('\n');
}
