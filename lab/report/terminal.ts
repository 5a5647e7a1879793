/**
 * What the lab prints: a one-line progress bar while a scenario runs (only on a terminal; plain
 * ANSI, no dependency) and a summary table when it ends.
 */
import type { LabResult } from '../engine/metrics.js';
import type { Progress } from '../engine/run.js';
import { renderText } from '../engine/scenario.js';
import { formatErrors, formatFixed, formatMs, formatNumber, formatPct } from './format.js';

/** Where the lab writes: a stream with, on a terminal, `isTTY` and `columns`. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** A progress display for one run. */
export interface ProgressBar {
  update(progress: Progress): void;
  /** Clears the bar (on a terminal) so the summary starts on a clean line. */
  done(): void;
}

/** Whether to colour output: a terminal, and neither `NO_COLOR` nor `TERM=dumb`. */
export function useColor(out: Output, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb';
}

const paint = (on: boolean, code: string, text: string): string =>
  on ? `\x1b[${code}m${text}\x1b[0m` : text;

/** A progress bar redrawn in place; nothing at all when `out` is not a terminal. */
export function createProgressBar(out: Output, label: string): ProgressBar {
  if (out.isTTY !== true) return { update: () => undefined, done: () => undefined };
  const color = useColor(out);
  let drawn = false;
  return {
    update(p) {
      const width = Math.max(40, out.columns ?? 80);
      const frac = p.duration === 0 ? 1 : Math.min(1, p.elapsed / p.duration);
      const barWidth = 16;
      const filled = Math.round(frac * barWidth);
      const bar = paint(color, '36', '█'.repeat(filled)) + paint(color, '2', '░'.repeat(barWidth - filled));
      const time = `${(p.elapsed / 1000).toFixed(1)}/${(p.duration / 1000).toFixed(0)} s`;
      const rates = p.configs
        .map((c) => `${c.name} ${c.done === 0 ? '–' : `${Math.round((100 * c.ok) / c.done)}% ok`}`)
        .join('  ');
      // Never wrap (a wrapped line cannot be redrawn with \r): drop the phase, then the rates, to fit.
      let visible = `  ${label}  ${' '.repeat(barWidth)}  ${time}`.length;
      let line = `  ${label}  ${bar}  ${time}`;
      for (const [text, code] of [
        [rates, '0'],
        [p.phase, '33'],
      ] as const) {
        if (visible + 2 + text.length > width - 1) break;
        line += `  ${code === '0' ? text : paint(color, code, text)}`;
        visible += 2 + text.length;
      }
      out.write(`\r\x1b[2K${line}`);
      drawn = true;
    },
    done() {
      if (drawn) out.write('\r\x1b[2K');
    },
  };
}

/** The summary of a run as text: one row per configuration, then what failed. */
export function renderSummary(result: LabResult, color: boolean): string {
  const head = ['configuration', 'success', 'goodput/s', 'p50', 'p99', 'attempts/call', 'upstream req'];
  const rows = result.configs.map((c) => [
    c.name,
    formatPct(c.totals.successRate),
    formatNumber(c.totals.goodput),
    formatMs(c.totals.p50),
    formatMs(c.totals.p99),
    formatFixed(c.totals.attemptsPerCall, 2),
    formatNumber(c.totals.upstreamReceived),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: readonly string[]): string =>
    '  ' +
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('   ');
  const { name } = result.scenario;
  const description = renderText(result.scenario, result.scenario.description);
  const [first = '', ...more] = wrap(description === '' ? name : `${name} — ${description}`, 96, '');
  const lines = [
    paint(color, '1', name) + first.slice(name.length),
    ...more.map((line) => `  ${line}`),
    paint(color, '2', fmt(head)),
    ...rows.map(fmt),
  ];
  for (const c of result.configs) {
    const extra: string[] = [];
    if (c.totals.lateResponses > 0) extra.push(`${c.totals.lateResponses} late responses`);
    if (c.totals.downstream !== null) {
      extra.push(
        `service B worked ${formatMs(c.totals.downstream.workMs)}, ${formatMs(c.totals.downstream.wastedMs)} for callers already gone, skipped ${c.totals.downstream.skipped}`,
      );
    }
    if (c.totals.rateLimitWaits > 0) extra.push(`${c.totals.rateLimitWaits} rate-limit waits`);
    if (c.totals.cutOff > 0) extra.push(`${c.totals.cutOff} still running at the end`);
    const failures = formatErrors(c.totals);
    lines.push(
      `  ${c.name.padEnd(widths[0]!)}   failures: ${failures}${extra.length === 0 ? '' : `; ${extra.join('; ')}`}`,
    );
  }
  if (result.scenario.notes !== '')
    lines.push(
      '',
      ...wrap(`What to look for: ${renderText(result.scenario, result.scenario.notes)}`, 96, '  '),
    );
  return lines.join('\n') + '\n';
}

/** Splits text into lines of at most `width` characters at spaces, each with `indent`. */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}
