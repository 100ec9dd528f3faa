// A self-contained HTML page for one bench run: gates, a table per level,
// inline SVG charts and the worst samples. Opens from disk with no network.
import type { BenchResult } from '../bench.js';
import type { LevelResult } from '../summary.js';
import { PALETTE, escapeXml as esc, renderChart, type Series } from './svg.js';

const WORST_SAMPLES = 15;

const num = (v: number | null, digits = 3) => (v === null ? '–' : v.toFixed(digits));
const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(2)}%`);

/** Empirical CDF points for the step series. */
function cdf(values: number[]): Array<[number, number]> {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.map((v, i) => [v, (i + 1) / sorted.length]);
}

function levelSeries(result: BenchResult, points: (l: LevelResult) => Array<[number, number]>, mode: Series['mode']): Series[] {
  return result.levels.map((l, i) => ({ name: `concurrency ${l.concurrency}`, color: PALETTE[i % PALETTE.length], points: points(l), mode }));
}

function charts(result: BenchResult): string {
  const okLatencies = (l: LevelResult) => l.samples.filter((s) => s.ok).map((s) => s.latencySeconds);
  const vsConcurrency = (title: string, yLabel: string, metrics: Array<[string, (l: LevelResult) => number | null]>) =>
    renderChart({
      title,
      xLabel: 'concurrency',
      yLabel,
      series: metrics.map(([name, read], i) => ({
        name,
        color: PALETTE[i],
        points: result.levels.flatMap((l): Array<[number, number]> => {
          const v = read(l);
          return v === null ? [] : [[l.concurrency, v]];
        }),
        mode: 'line',
      })),
      yFromZero: true,
    });
  const unit = result.levels[0]?.errorRate.unit === 'character' ? 'CER' : 'WER';
  return [
    renderChart({
      title: 'Latency distribution (CDF)',
      xLabel: 'latency per request (s)',
      yLabel: 'fraction of requests',
      series: levelSeries(result, (l) => cdf(okLatencies(l)), 'step'),
      yFromZero: true,
    }),
    renderChart({
      title: 'RTF vs audio duration',
      xLabel: 'audio duration (s)',
      yLabel: 'RTF (latency / duration)',
      series: levelSeries(result, (l) => l.samples.flatMap((s): Array<[number, number]> => (s.ok && s.rtf !== null ? [[s.durationSeconds!, s.rtf]] : [])), 'points'),
      yFromZero: true,
    }),
    vsConcurrency('Throughput vs concurrency', 'per second of wall clock', [
      ['requests/s', (l) => l.throughput.requestsPerSecond],
      ['audio s/s', (l) => l.throughput.audioSecondsPerSecond],
    ]),
    vsConcurrency('Latency vs concurrency', 'latency (s)', [
      ['mean', (l) => l.latency.mean],
      ['p95', (l) => l.latency.p95],
    ]),
    vsConcurrency(`Corpus ${unit} vs concurrency`, `${unit} (%)`, [
      [unit, (l) => (l.errorRate.corpus === null ? null : l.errorRate.corpus * 100)],
    ]),
  ]
    .map((svg) => `<figure>${svg}</figure>`)
    .join('\n');
}

function levelTable(result: BenchResult): string {
  const rows = result.levels.map((l) => {
    const failures = Object.entries(l.failures.byStatus).map(([status, n]) => `${n}× ${status === '0' ? 'no response' : status}`).join(', ');
    return `<tr><td>${l.concurrency}</td><td>${l.successes}/${l.requests}</td><td class="${l.failures.count ? 'fail' : ''}">${failures || '0'}</td>
<td>${num(l.throughput.requestsPerSecond)}</td><td>${num(l.throughput.audioSecondsPerSecond, 2)}</td>
<td>${num(l.latency.mean)}</td><td>${num(l.latency.p50)}</td><td>${num(l.latency.p95)}</td><td>${num(l.latency.p99)}</td>
<td>${num(l.rtf.mean, 4)}</td><td>${num(l.rtf.p95, 4)}</td><td>${pct(l.errorRate.corpus)}</td><td>${pct(l.errorRate.maxSample)}</td>
<td>${l.errorRate.substitutions}/${l.errorRate.deletions}/${l.errorRate.insertions} of ${l.errorRate.refTokens}</td><td>${num(l.wallSeconds, 2)}</td></tr>`;
  });
  return `<table><thead><tr><th>concurrency</th><th>ok</th><th>failures</th><th>req/s</th><th>audio s/s</th>
<th>lat mean (s)</th><th>p50</th><th>p95</th><th>p99</th><th>RTF mean</th><th>RTF p95</th><th>corpus err</th><th>worst sample</th><th>S/D/I</th><th>wall (s)</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function gateSection(result: BenchResult): string {
  const g = result.gates;
  if (!g) return '<p class="muted">No gates: run with --preset NAME to compare against reference values.</p>';
  const rows = g.results.map(
    (r) => `<tr class="${r.pass ? 'pass' : 'fail'}"><td>${esc(r.metric)}</td><td>${r.pass ? 'pass' : 'FAIL'}</td><td>${num(r.value, 4)}</td>
<td>${r.direction === 'lower' ? '≤' : '≥'} ${num(r.limit, 4)}</td><td>${num(r.reference, 4)}</td></tr>`,
  );
  return `<p class="banner ${g.passed ? 'pass' : 'fail'}">Gates ${g.passed ? 'passed' : 'FAILED'}: preset <b>${esc(g.preset)}</b> at concurrency ${g.concurrency}
${g.description ? `— ${esc(g.description)}` : ''}</p>
<table><thead><tr><th>metric</th><th>result</th><th>measured</th><th>limit</th><th>reference</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function worstSamples(result: BenchResult): string {
  const level = result.levels[result.levels.length - 1];
  if (!level) return '';
  const failed = level.samples.filter((s) => !s.ok);
  const worst = level.samples
    .filter((s) => s.ok && (s.errorRate ?? 0) > 0)
    .sort((a, b) => (b.errorRate ?? 0) - (a.errorRate ?? 0))
    .slice(0, WORST_SAMPLES);
  const rows = [
    ...failed.slice(0, WORST_SAMPLES).map((s) => `<tr class="fail"><td>${esc(s.id)}</td><td>${s.status || 'no response'}</td><td colspan="3" class="text">${esc(s.error ?? '')}</td></tr>`),
    ...worst.map(
      (s) => `<tr><td>${esc(s.id)}</td><td>${pct(s.errorRate)}</td><td>${s.substitutions}/${s.deletions}/${s.insertions}</td>
<td>${esc(s.reference)}</td><td>${esc(s.hypothesis ?? '')}</td></tr>`,
    ),
  ];
  if (rows.length === 0) return `<p class="muted">Every sample at concurrency ${level.concurrency} was transcribed without error.</p>`;
  return `<table class="samples"><thead><tr><th>sample</th><th>error rate / status</th><th>S/D/I</th><th>reference</th><th>hypothesis</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4}td:first-child,td.text{text-align:left}.samples td:nth-child(n+4){text-align:left;max-width:380px}
.muted{color:#777}.pass td:nth-child(2){color:#1a7f37}.fail,.fail td:nth-child(2){color:#c62828}
.banner{padding:8px 12px;border-radius:4px;font-weight:500}.banner.pass{background:#e6f4ea;color:#1a7f37}.banner.fail{background:#fdecea;color:#c62828}
figure{display:inline-block;margin:8px 16px 8px 0}text{font-family:system-ui,sans-serif}dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{color:#666}`;

export function renderHtmlReport(result: BenchResult): string {
  const audio = result.dataset.audioSeconds === null ? 'durations from server usage' : `${result.dataset.audioSeconds.toFixed(1)} s of audio`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sgl-omni bench — ${esc(result.model)}</title><style>${STYLE}</style></head>
<body>
<h1>ASR bench: ${esc(result.model)}</h1>
<dl><dt>server</dt><dd>${esc(result.transcriptionsUrl)}</dd><dt>dataset</dt><dd>${esc(result.dataset.manifest)} (${result.dataset.samples} clips, ${audio})</dd>
<dt>language</dt><dd>${esc(result.language)}</dd><dt>run</dt><dd>${esc(result.startedAt)} → ${esc(result.finishedAt)}</dd></dl>
<h2>Gates</h2>
${gateSection(result)}
<h2>Results by concurrency</h2>
${levelTable(result)}
<p class="muted">Latency is client wall time per request; RTF = latency / audio duration; throughput counts successful requests over the timed wall clock
(warm-up excluded); error rates use Whisper's English normaliser (characters for Chinese), corpus = Σ(S+D+I) / Σ reference ${result.levels[0]?.errorRate.unit ?? 'word'}s.</p>
<h2>Charts</h2>
${charts(result)}
<h2>Failures and highest-error samples (concurrency ${result.levels[result.levels.length - 1]?.concurrency ?? '–'})</h2>
${worstSamples(result)}
</body></html>
`;
}
