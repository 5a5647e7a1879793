/**
 * Several runs side by side: the spread of each configuration's figures over `--runs`, the
 * verdict summary of `bulwark lab all`, and the `--json` document CI reads.
 */
import type { LabResult, Totals } from '../engine/metrics.js';
import type { Verdict } from '../engine/verdict.js';
import { formatMs, formatPct } from './format.js';

/** The runs of one scenario (one per seed). */
export interface ScenarioRuns {
  readonly name: string;
  readonly results: readonly LabResult[];
  /** Report files written, one per run. */
  readonly reports: readonly string[];
}

/** Minimum and maximum of a figure over runs; null when no run had it. */
export interface Range {
  readonly min: number;
  readonly max: number;
}

/** One configuration's figures over the runs of a scenario. */
export interface ConfigSpread {
  readonly name: string;
  readonly successRate: Range | null;
  readonly p99: Range | null;
  readonly upstreamReceived: Range | null;
}

/** The spread of every configuration over the runs. */
export function spreadOf(runs: ScenarioRuns): ConfigSpread[] {
  const names = runs.results[0]?.configs.map((c) => c.name) ?? [];
  return names.map((name) => {
    const totals = runs.results
      .map((r) => r.configs.find((c) => c.name === name)?.totals)
      .filter((t): t is Totals => t !== undefined);
    const range = (pick: (t: Totals) => number | null): Range | null => {
      const values = totals.map(pick).filter((v): v is number => v !== null);
      return values.length === 0 ? null : { min: Math.min(...values), max: Math.max(...values) };
    };
    return {
      name,
      successRate: range((t) => t.successRate),
      p99: range((t) => t.p99),
      upstreamReceived: range((t) => t.upstreamReceived),
    };
  });
}

/** The verdicts of `config` over the runs: how many passed, and the ones that did not. */
export function verdictsOf(
  runs: ScenarioRuns,
  config: string,
): { passed: number; of: number; failed: Verdict[] } {
  const verdicts = runs.results
    .map((r) => r.verdicts.find((v) => v.config === config))
    .filter((v): v is Verdict => v !== undefined);
  return {
    passed: verdicts.filter((v) => v.outcome === 'pass').length,
    of: verdicts.length,
    failed: verdicts.filter((v) => v.outcome !== 'pass'),
  };
}

const range = (r: Range | null, format: (n: number) => string): string =>
  r === null ? '–' : r.min === r.max ? format(r.min) : `${format(r.min)}–${format(r.max)}`;

/** The spread table of one scenario's runs, as text lines. */
export function spreadLines(runs: ScenarioRuns): string[] {
  const spread = spreadOf(runs);
  const width = Math.max(13, ...spread.map((s) => s.name.length));
  const lines = [`  Spread over ${runs.results.length} runs (seeds ${seedsOf(runs)}):`];
  lines.push(
    `    ${'configuration'.padEnd(width)}   ${'success'.padEnd(13)}   ${'p99'.padEnd(17)}   upstream req`,
  );
  for (const s of spread)
    lines.push(
      `    ${s.name.padEnd(width)}   ${range(s.successRate, formatPct).padEnd(13)}   ${range(s.p99, formatMs).padEnd(17)}   ${range(s.upstreamReceived, String)}`,
    );
  for (const v of runs.results[0]?.verdicts ?? []) {
    const { passed, of } = verdictsOf(runs, v.config);
    lines.push(`    verdict ${v.config} vs plain: passed ${passed} of ${of} runs`);
  }
  return lines;
}

function seedsOf(runs: ScenarioRuns): string {
  return runs.results.map((r) => r.scenario.seed).join(', ');
}

/** The summary of several scenarios: one line per scenario with the defaults' verdict over its runs. */
export function summaryLines(all: readonly ScenarioRuns[], config = 'defaults'): string[] {
  const width = Math.max(8, ...all.map((r) => r.name.length));
  const lines = [`Verdicts, ${config} vs plain:`];
  for (const runs of all) {
    const { passed, of, failed } = verdictsOf(runs, config);
    const spread = spreadOf(runs);
    const rate = (name: string): string =>
      range(spread.find((s) => s.name === name)?.successRate ?? null, formatPct);
    const status = of === 0 ? 'n/a ' : passed === of ? 'PASS' : 'FAIL';
    const runsText = of > 1 ? ` ${passed}/${of} runs` : '';
    const why =
      failed.length === 0
        ? ''
        : `  fails ${[...new Set(failed.flatMap((v) => v.criteria.filter((c) => c.applies && !c.pass).map((c) => c.id)))].join(', ')}`;
    lines.push(
      `  ${runs.name.padEnd(width)}  ${status}${runsText}  success ${rate(config)} vs plain ${rate('plain')}${why}`,
    );
  }
  return lines;
}

/** The `--json` document: per scenario and run, the totals and verdicts; `pass` over all of them. */
export function jsonReport(all: readonly ScenarioRuns[], checked: readonly string[]): unknown {
  const verdicts = all
    .flatMap((s) => s.results.flatMap((r) => r.verdicts))
    .filter((v) => checked.includes(v.config));
  return {
    tool: 'bulwark lab',
    checked,
    pass: verdicts.every((v) => v.outcome === 'pass'),
    scenarios: all.map((s) => ({
      name: s.name,
      spread: s.results.length > 1 ? spreadOf(s) : undefined,
      runs: s.results.map((r, i) => ({
        seed: r.scenario.seed,
        duration: r.scenario.duration,
        startedAt: r.startedAt,
        report: s.reports[i],
        loopDelay: r.loopDelay,
        totals: Object.fromEntries(r.configs.map((c) => [c.name, c.totals])),
        verdicts: r.verdicts,
        outages: r.outages,
        transitions: Object.fromEntries(r.configs.map((c) => [c.name, c.transitions])),
      })),
    })),
  };
}
