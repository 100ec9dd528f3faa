// Minimal inline-SVG charts for the HTML report (no scripts, no CDN): one
// function draws axes with round ticks and any mix of line, step and point series.

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
  /** 'line' joins points, 'step' draws an empirical CDF staircase, 'points' is a scatter. */
  mode: 'line' | 'step' | 'points';
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Force the y axis to start at zero (rates, counts). */
  yFromZero?: boolean;
  width?: number;
  height?: number;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

// The legend sits in a row between the title and the plot, clear of the data.
const MARGIN = { left: 64, right: 16, top: 50, bottom: 48 };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** About `count` evenly spaced round numbers (1, 2, 5 × 10^k steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function extent(values: number[], fromZero: boolean): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (fromZero) lo = Math.min(0, lo);
  if (hi === lo) [lo, hi] = [lo - (lo === 0 ? 1 : Math.abs(lo) * 0.1), hi + (hi === 0 ? 1 : Math.abs(hi) * 0.1)];
  const pad = (hi - lo) * 0.05;
  return [fromZero && lo === 0 ? 0 : lo - pad, hi + pad];
}

const fmt = (v: number) => (Math.abs(v) >= 1000 ? v.toExponential(1) : String(Number(v.toPrecision(4))));

export function renderChart(spec: ChartSpec): string {
  const width = spec.width ?? 520;
  const height = spec.height ?? 320;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = spec.series.flatMap((s) => s.points);
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(spec.title)}">`;
  const title = `<text x="${width / 2}" y="20" text-anchor="middle" font-weight="600">${escapeXml(spec.title)}</text>`;
  if (all.length === 0) {
    return `${head}${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no data</text></svg>`;
  }
  const [x0, x1] = extent(all.map((p) => p[0]), false);
  const [y0, y1] = extent(all.map((p) => p[1]), spec.yFromZero ?? false);
  const sx = (x: number) => MARGIN.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - ((y - y0) / (y1 - y0)) * plotH;

  const parts: string[] = [head, title];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${sy(t) + 4}" text-anchor="end" font-size="11">${fmt(t)}</text>`);
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#444"/>`);
    parts.push(`<text x="${sx(t)}" y="${MARGIN.top + plotH + 17}" text-anchor="middle" font-size="11">${fmt(t)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 8}" text-anchor="middle" font-size="12">${escapeXml(spec.xLabel)}</text>`);
  parts.push(
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeXml(spec.yLabel)}</text>`,
  );

  for (const s of spec.series) parts.push(drawSeries(s, sx, sy));
  let x = MARGIN.left;
  for (const s of spec.series) {
    parts.push(`<rect x="${x}" y="30" width="10" height="10" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 14}" y="39" font-size="11">${escapeXml(s.name)}</text>`);
    x += 30 + 6.5 * s.name.length;
  }
  parts.push('</svg>');
  return parts.join('');
}

function drawSeries(s: Series, sx: (x: number) => number, sy: (y: number) => number): string {
  const pts = s.points.map(([x, y]) => [sx(x), sy(y)] as const);
  if (s.mode === 'points') {
    return pts.map(([x, y]) => `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${s.color}" fill-opacity="0.7"/>`).join('');
  }
  let d = '';
  pts.forEach(([x, y], i) => {
    if (i === 0) d += `M${x.toFixed(1)},${y.toFixed(1)}`;
    else if (s.mode === 'step') d += `H${x.toFixed(1)}V${y.toFixed(1)}`;
    else d += `L${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const dots = s.mode === 'line' ? pts.map(([x, y]) => `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.color}"/>`).join('') : '';
  return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>${dots}`;
}
