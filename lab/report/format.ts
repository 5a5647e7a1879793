/** Number formats shared by the terminal summary and the HTML report, so both read the same. */
import type { Totals } from '../engine/metrics.js';
import type { Load } from '../engine/scenario.js';

/** `"12 ms"`, `"1.34 s"`, or `"–"` for no data. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}

/** `"97.3%"`, or `"–"` for no data. */
export function formatPct(ratio: number | null): string {
  return ratio === null ? '–' : `${(ratio * 100).toFixed(1)}%`;
}

/** A count or rate with at most one decimal. */
export function formatNumber(n: number | null, digits = 1): string {
  if (n === null) return '–';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** Failed calls by outcome, most frequent first: `"CIRCUIT_OPEN ×120, 503 ×8"`. */
export function formatErrors(totals: Totals, max = 4): string {
  const entries = Object.entries(totals.errors).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return 'none';
  const shown = entries
    .slice(0, max)
    .map(([code, n]) => `${/^\d+$/.test(code) ? `HTTP ${code}` : code} ×${n}`);
  if (entries.length > max) shown.push(`+${entries.length - max} more`);
  return shown.join(', ');
}

/** A run's load as words: `"50 calls/s"`, `"20→120 calls/s"`, `"16 workers"`. */
export function formatLoad(load: Load): string {
  if (load.kind === 'concurrency')
    return `${load.workers} concurrent callers${load.think > 0 ? ` (${load.think} ms think time)` : ''}`;
  return load.from === load.to ? `${load.from} calls/s` : `${load.from}→${load.to} calls/s`;
}

/** The palette: the plain client is grey so the configurations under test stand out. */
export const COLORS = [
  '#6b7280',
  '#2563eb',
  '#ea580c',
  '#16a34a',
  '#9333ea',
  '#db2777',
  '#0891b2',
  '#ca8a04',
] as const;

/** A colour per configuration: `plain` is grey, the others take blue, orange, green… in order. */
export function palette(names: readonly string[]): string[] {
  let next = 1;
  return names.map((name) =>
    name === 'plain' ? COLORS[0] : COLORS[1 + ((next++ - 1) % (COLORS.length - 1))]!,
  );
}

/** ms as seconds with at most `digits` decimals and no trailing zeros: `"2.7"`. */
export function formatSeconds(ms: number, digits = 1): string {
  return String(Number((ms / 1000).toFixed(digits)));
}

/** A number with exactly `digits` decimals (`"1.00"`), or `"–"` for no data. */
export function formatFixed(n: number | null, digits: number): string {
  return n === null ? '–' : n.toFixed(digits);
}
