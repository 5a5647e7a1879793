/**
 * Line charts drawn as inline SVG strings: axes with round ticks, a legend, shaded fault phases,
 * and optional state bands (breaker state per configuration) under the plot. No library, no
 * script: the report must open offline and print.
 */
import { formatSeconds } from './format.js';

/** One line. `null` values break the line (no data in that bucket). */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  /**
   * Stroke width. Series drawn later are drawn thinner, so a line that coincides with an earlier
   * one shows as a stripe inside it instead of hiding it. @default 2
   */
  readonly width?: number;
  readonly points: readonly (readonly [x: number, y: number | null])[];
}

/** A row of coloured cells under the plot, e.g. a breaker's state over time. */
export interface BandRow {
  readonly label: string;
  readonly cells: readonly { readonly from: number; readonly to: number; readonly state: string | null }[];
}

/** A shaded period of the x axis (an upstream fault phase). */
export interface Shade {
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

/** A horizontal reference level over part of the x axis, e.g. the API's capacity. */
export interface Reference {
  readonly from: number;
  readonly to: number;
  readonly y: number;
  readonly label: string;
}

/** What {@link lineChart} draws. x is in ms and labelled in seconds. */
export interface ChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xMax: number;
  readonly yUnit: string;
  /** Fixed top of the y axis (e.g. 100 for percentages); otherwise the data's maximum, rounded up. */
  readonly yMax?: number;
  /** Logarithmic y axis, for latencies spanning milliseconds to seconds. */
  readonly log?: boolean;
  readonly series: readonly Series[];
  readonly shades?: readonly Shade[];
  readonly references?: readonly Reference[];
  readonly bands?: readonly BandRow[];
  readonly bandColors?: Readonly<Record<string, string>>;
}

const WIDTH = 920;
const PLOT_H = 220;
const LEFT = 120;
const RIGHT = 20;
const LEGEND_ROW = 18;
const BAND_H = 14;
const PLOT_W = WIDTH - LEFT - RIGHT;

/** Escapes text for HTML and SVG content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders one chart as an `<svg>` element string. */
export function lineChart(spec: ChartSpec): string {
  const legendRows = layoutLegend(spec.series);
  const top = 26 + legendRows.length * LEGEND_ROW + 16;
  const bandTop = top + PLOT_H + 34;
  const bands = spec.bands ?? [];
  const height = bandTop + (bands.length > 0 ? bands.length * (BAND_H + 4) + 8 : 0);
  const values = [
    ...spec.series.flatMap((s) => s.points.map((p) => p[1])).filter((v): v is number => v !== null),
    ...(spec.references ?? []).map((r) => r.y),
  ];
  const scale = spec.log === true ? logScale(values) : linearScale(values, spec.yMax);
  const x = (v: number): number => LEFT + (PLOT_W * Math.min(Math.max(v, 0), spec.xMax)) / spec.xMax;
  const y = (v: number): number => top + PLOT_H - PLOT_H * scale.position(v);
  const parts: string[] = [];
  parts.push(`<text class="title" x="${LEFT}" y="18">${escapeXml(spec.title)}</text>`);
  legendRows.forEach((row, r) => {
    for (const item of row) {
      const ly = 26 + r * LEGEND_ROW + 8;
      const dash = dashOf(item.series);
      parts.push(
        `<g class="legend-item"><line x1="${LEFT + item.x}" x2="${LEFT + item.x + 22}" y1="${ly}" y2="${ly}" stroke="${item.series.color}" stroke-width="2.5"${dash}/>` +
          `<text x="${LEFT + item.x + 28}" y="${ly + 4}">${escapeXml(item.series.name)}</text></g>`,
      );
    }
  });
  for (const shade of spec.shades ?? []) {
    const x0 = x(shade.from);
    const w = Math.max(1, x(shade.to) - x0);
    parts.push(
      `<rect class="phase" x="${x0.toFixed(1)}" y="${top}" width="${w.toFixed(1)}" height="${PLOT_H}"><title>${escapeXml(shade.label)}</title></rect>`,
      `<text class="phase-label" x="${(x0 + 4).toFixed(1)}" y="${top + 12}">${escapeXml(clip(shade.label, Math.floor(w / 6.5)))}</text>`,
    );
  }
  for (const tick of scale.ticks) {
    const ty = y(tick).toFixed(1);
    parts.push(
      `<line class="grid" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${ty}" y2="${ty}"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${Number(ty) + 4}" text-anchor="end">${escapeXml(formatTick(tick, spec.yUnit))}</text>`,
    );
  }
  for (const tick of timeTicks(spec.xMax)) {
    const tx = x(tick).toFixed(1);
    parts.push(
      `<line class="axis" x1="${tx}" x2="${tx}" y1="${top + PLOT_H}" y2="${top + PLOT_H + 4}"/>`,
      `<text class="tick" x="${tx}" y="${top + PLOT_H + 16}" text-anchor="middle">${formatSeconds(tick, 2)}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${LEFT}" x2="${LEFT}" y1="${top}" y2="${top + PLOT_H}"/>`,
    `<line class="axis" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${top + PLOT_H}" y2="${top + PLOT_H}"/>`,
    `<text class="axis-label" x="${LEFT + PLOT_W}" y="${top + PLOT_H + 30}" text-anchor="end">time since start (s)</text>`,
  );
  for (const ref of spec.references ?? []) {
    const ry = y(ref.y).toFixed(1);
    const x0 = x(ref.from);
    parts.push(
      `<g class="reference"><line x1="${x0.toFixed(1)}" x2="${x(ref.to).toFixed(1)}" y1="${ry}" y2="${ry}" stroke="#111827" stroke-width="1.5" stroke-dasharray="2 3"/>` +
        `<text class="reference-label" x="${(x0 + 4).toFixed(1)}" y="${Number(ry) - 4}">${escapeXml(ref.label)}</text></g>`,
    );
  }
  for (const series of spec.series) parts.push(drawSeries(series, x, y));
  bands.forEach((band, i) => {
    const by = bandTop + i * (BAND_H + 4);
    parts.push(
      `<text class="band-label" x="${LEFT - 6}" y="${by + 11}" text-anchor="end">${escapeXml(clip(band.label, 18))}</text>`,
    );
    // Adjacent cells in the same state are one rectangle: no anti-aliased seams between them.
    for (const cell of mergeCells(band.cells)) {
      if (cell.state === null) continue;
      const fill = spec.bandColors?.[cell.state] ?? '#9ca3af';
      const x0 = x(cell.from);
      const label = `${band.label}: ${cell.state} from ${formatSeconds(cell.from, 2)} s to ${formatSeconds(cell.to, 2)} s`;
      parts.push(
        `<rect class="band" data-state="${escapeXml(cell.state)}" x="${x0.toFixed(1)}" y="${by}" width="${Math.max(0.5, x(cell.to) - x0).toFixed(1)}" height="${BAND_H}" fill="${fill}"><title>${escapeXml(label)}</title></rect>`,
      );
    }
  });
  return `<svg class="chart" id="${escapeXml(spec.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${escapeXml(spec.title)}">${parts.join('')}</svg>`;
}

function drawSeries(series: Series, x: (v: number) => number, y: (v: number) => number): string {
  const runs: string[][] = [];
  let run: string[] | undefined;
  for (const [px, py] of series.points) {
    if (py === null) {
      run = undefined;
      continue;
    }
    if (run === undefined) {
      run = [];
      runs.push(run);
    }
    run.push(`${x(px).toFixed(1)},${y(py).toFixed(1)}`);
  }
  const d = runs.map((r) => `M${r.join('L')}`).join('');
  // A bucket with data between two without would be an invisible zero-length path: mark it with a dot.
  const dots = runs
    .filter((r) => r.length === 1)
    .map((r) => {
      const [cx, cy] = r[0]!.split(',');
      return `<circle cx="${cx}" cy="${cy}" r="2.2" fill="${series.color}"/>`;
    })
    .join('');
  const dash = dashOf(series);
  return `<g class="series" data-series="${escapeXml(series.name)}"><path d="${d}" fill="none" stroke="${series.color}" stroke-width="${series.width ?? 2}" stroke-linejoin="round"${dash}><title>${escapeXml(series.name)}</title></path>${dots}</g>`;
}

function dashOf(series: Series): string {
  if (series.dashed !== true) return '';
  // Wider lines get longer dashes so the pattern stays readable.
  const w = series.width ?? 2;
  return ` stroke-dasharray="${Math.round(2.5 * w)} ${Math.round(1.5 * w)}"`;
}

function mergeCells(cells: BandRow['cells']): BandRow['cells'][number][] {
  const out: { from: number; to: number; state: string | null }[] = [];
  for (const cell of cells) {
    const last = out.at(-1);
    if (last !== undefined && last.state === cell.state && last.to === cell.from) last.to = cell.to;
    else out.push({ ...cell });
  }
  return out;
}

interface LegendItem {
  readonly series: Series;
  readonly x: number;
}

function layoutLegend(series: readonly Series[]): LegendItem[][] {
  const rows: LegendItem[][] = [[]];
  let x = 0;
  for (const s of series) {
    const w = 40 + s.name.length * 7;
    if (x + w > PLOT_W && x > 0) {
      rows.push([]);
      x = 0;
    }
    rows.at(-1)!.push({ series: s, x });
    x += w;
  }
  return rows;
}

interface Scale {
  position(v: number): number;
  readonly ticks: readonly number[];
}

function linearScale(values: readonly number[], fixedMax?: number): Scale {
  const max = fixedMax ?? Math.max(1e-9, ...values);
  const step = niceStep(max / 4);
  const top = fixedMax ?? Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 1e6; t += step) ticks.push(Number(t.toPrecision(12)));
  return { position: (v) => Math.min(1, Math.max(0, v / top)), ticks };
}

function logScale(values: readonly number[]): Scale {
  const positive = values.filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...positive))));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(10, ...positive))));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  return {
    position: (v) => Math.min(1, Math.max(0, (Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo))),
    ticks,
  };
}

/** 1, 2 or 5 times a power of ten, at least `raw`. */
export function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function timeTicks(xMax: number): number[] {
  const step = niceStep(xMax / 10);
  const out: number[] = [];
  for (let t = 0; t <= xMax + 1e-6; t += step) out.push(t);
  return out;
}

function formatTick(v: number, unit: string): string {
  if (unit === 'ms' && v >= 1000) return `${Number((v / 1000).toPrecision(3))} s`;
  const text =
    Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)));
  return unit === '' ? text : unit === '%' ? `${text}%` : `${text} ${unit}`;
}

function clip(text: string, max: number): string {
  if (max <= 1) return '';
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}
