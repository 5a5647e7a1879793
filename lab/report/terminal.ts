/**
 * What the lab prints: a one-line progress bar while a scenario runs (only on a terminal; plain
 * ANSI, no dependency) and a summary table when it ends.
 */
import type { LabResult } from '../engine/metrics.js';
import type { Progress } from '../engine/run.js';
import { renderText } from '../engine/scenario.js';
import { verdictLine } from '../engine/verdict.js';
import { formatErrors, formatFixed, formatMs, formatNumber, formatPct, formatSeconds } from './format.js';

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

/** The summary of a run as text: the verdicts first, then one row per configuration, then what failed. */
export function renderSummary(result: LabResult, color: boolean): string {
  const head = [
    'configuration',
    'success',
    'goodput/s',
    'p50',
    'p99',
    'p99 ok',
    'attempts/call',
    'upstream req',
  ];
  const rows = result.configs.map((c) => [
    c.name,
    formatPct(c.totals.successRate),
    formatNumber(c.totals.goodput),
    formatMs(c.totals.p50),
    formatMs(c.totals.p99),
    formatMs(c.totals.p99ok),
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
    ...verdictLines(result, color),
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
    if (c.totals.cutOff > 0) extra.push(`${c.totals.cutOff} still running at the end (failed)`);
    const failures = formatErrors(c.totals);
    lines.push(
      `  ${c.name.padEnd(widths[0]!)}   failures: ${failures}${extra.length === 0 ? '' : `; ${extra.join('; ')}`}`,
    );
  }
  lines.push(...recoveryLines(result), ...transitionLines(result));
  const lag = loopWarning(result);
  if (lag !== undefined)
    lines.push('', ...wrap(`Warning: ${lag}`, 96, '  ').map((l) => paint(color, '33', l)));
  if (result.scenario.notes !== '')
    lines.push(
      '',
      ...wrap(`What to look for: ${renderText(result.scenario, result.scenario.notes)}`, 96, '  '),
    );
  return lines.join('\n') + '\n';
}

/** The verdict lines: bulwark's defaults against plain first, then any other configuration. */
export function verdictLines(result: LabResult, color: boolean): string[] {
  const plain = result.configs.find((c) => c.name === 'plain');
  if (plain === undefined || result.verdicts.length === 0) return [];
  const ordered = [...result.verdicts].sort(
    (a, b) => Number(b.config === 'defaults') - Number(a.config === 'defaults'),
  );
  const width = Math.max(...ordered.map((v) => v.config.length));
  return ordered.map((v, i) => {
    const totals = result.configs.find((c) => c.name === v.config)!.totals;
    const line = verdictLine(v, totals, plain.totals);
    const code = v.outcome === 'pass' ? '32' : v.outcome === 'fail' ? '31' : '2';
    const label = `${i === 0 ? 'Verdict' : '       '} ${v.config.padStart(width)} vs plain: `;
    return `  ${label}${paint(color, code, line)}`;
  });
}

/** Time to detect and to recover, one line per outage or black-hole phase. */
export function recoveryLines(result: LabResult): string[] {
  return result.outages.flatMap((o) => {
    const detect = o.configs
      .map(
        (r) =>
          `${r.config} ${r.hasBreaker ? (r.detectMs === null ? 'never' : `${formatSeconds(r.detectMs, 2)} s`) : 'no breaker'}`,
      )
      .join(', ');
    const recover = o.configs
      .map(
        (r) =>
          `${r.config} ${r.recoverMs === null ? 'not by the end' : `${formatSeconds(r.recoverMs, 2)} s`}`,
      )
      .join(', ');
    return [
      `  ${o.label} ${formatSeconds(o.from)}–${formatSeconds(o.to)} s: time to detect ${detect}; time to recover ${recover}`,
    ];
  });
}

/** Breaker transitions with their reason, at most `max` per configuration. */
export function transitionLines(result: LabResult, max = 6): string[] {
  const lines: string[] = [];
  for (const c of result.configs) {
    if (c.transitions.length === 0) continue;
    const shown = c.transitions
      .slice(0, max)
      .map((t) => `${formatSeconds(t.at, 2)} s ${t.from}→${t.to} (${t.reason})`);
    if (c.transitions.length > max) shown.push(`+${c.transitions.length - max} more`);
    lines.push(...wrap(`${c.name} breaker: ${shown.join('; ')}`, 96, '  '));
  }
  return lines;
}

/** Event-loop lag worth a warning: p99 ≥ 40 ms or a stall ≥ 250 ms. */
export function loopWarning(result: LabResult): string | undefined {
  const { p99, max } = result.loopDelay;
  if (p99 < 40 && max < 250) return undefined;
  return (
    `the event loop lagged during this run (p99 ${formatMs(p99)}, max ${formatMs(max)}): the machine was busy, ` +
    `so latencies include the lab's own delays and figures are noisy. Rerun on a quieter machine, or with --runs to see the spread.`
  );
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
