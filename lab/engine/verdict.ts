/**
 * The verdict of a scenario: does a configuration do at least as well as the plain client, run
 * against the same upstream, load and seed? The criteria are the ones bulwark's defaults answer
 * to (docs/lab.md, "Verdicts"): no loss of success, no latency or load without a gain, no retry
 * storm, and a real gain in a black hole.
 */

/** What a verdict reads of one configuration's totals. */
export interface VerdictInput {
  /** Share of calls that succeeded, 0–1; null when no call was made. */
  readonly successRate: number | null;
  /** p99 latency of all calls, ms; null when no call was made. */
  readonly p99: number | null;
  /** Requests the upstream received. */
  readonly upstreamReceived: number;
}

/** The thresholds of the criteria; success figures are percentage points. */
export const CRITERIA = {
  /** 1. Success may fall at most this far below the plain client's. */
  maxSuccessLoss: 1,
  /** 2. Below this gain, the configuration may not cost latency or load… */
  gainForCost: 1,
  /** …its p99 staying within max(`p99Factor` × plain's, plain's + `p99SlackMs`)… */
  p99Factor: 1.5,
  p99SlackMs: 150,
  /** …and the requests the API receives within `loadFactor` × plain's. */
  loadFactor: 1.15,
  /** 3. The API never receives more than this many times plain's requests. */
  stormFactor: 2,
  /** 4. In a black hole, success must beat plain's by at least this. */
  blackholeGain: 3,
} as const;

/** The criteria, by name. */
export type CriterionId = 'success' | 'cost-without-gain' | 'no-storm' | 'blackhole-gain';

/** One criterion's outcome. `applies: false` when the scenario or the figures do not call for it. */
export interface CriterionResult {
  readonly id: CriterionId;
  readonly applies: boolean;
  readonly pass: boolean;
  /** What was compared, in words, e.g. `success 68.9% vs plain 69.3% (−0.4 pt; allowed ≥ −1 pt)`. */
  readonly detail: string;
}

/** A configuration judged against the plain client. */
export interface Verdict {
  readonly config: string;
  readonly baseline: string;
  /** `pass` when every applicable criterion holds; `n/a` when a figure is missing (no calls). */
  readonly outcome: 'pass' | 'fail' | 'n/a';
  /** Success gain over the baseline in percentage points (negative: a loss). */
  readonly gain: number | null;
  readonly criteria: readonly CriterionResult[];
}

/** Floating-point slack, so a figure exactly on a boundary is judged as on it. */
const EPSILON = 1e-9;

/**
 * Judges `candidate` against `baseline` (the plain client, same run). `blackhole` says whether
 * the scenario has a black-hole phase (criterion 4).
 */
export function judge(
  candidate: VerdictInput & { readonly name: string },
  baseline: VerdictInput & { readonly name: string },
  blackhole: boolean,
): Verdict {
  const base = { config: candidate.name, baseline: baseline.name };
  if (
    candidate.successRate === null ||
    baseline.successRate === null ||
    candidate.p99 === null ||
    baseline.p99 === null
  )
    return { ...base, outcome: 'n/a', gain: null, criteria: [] };
  const gain = (candidate.successRate - baseline.successRate) * 100;
  const rate = `success ${pct(candidate.successRate)} vs ${pct(baseline.successRate)} (${signed(gain)} pt`;
  const loadRatio = ratio(candidate.upstreamReceived, baseline.upstreamReceived);
  const p99Limit = Math.max(CRITERIA.p99Factor * baseline.p99, baseline.p99 + CRITERIA.p99SlackMs);
  const costApplies = gain < CRITERIA.gainForCost - EPSILON;
  const p99Ok = candidate.p99 <= p99Limit + EPSILON;
  const loadOk = candidate.upstreamReceived <= CRITERIA.loadFactor * baseline.upstreamReceived + EPSILON;
  const criteria: CriterionResult[] = [
    {
      id: 'success',
      applies: true,
      pass: gain >= -CRITERIA.maxSuccessLoss - EPSILON,
      detail: `${rate}; allowed ≥ −${CRITERIA.maxSuccessLoss} pt)`,
    },
    {
      id: 'cost-without-gain',
      applies: costApplies,
      pass: !costApplies || (p99Ok && loadOk),
      detail:
        `p99 ${ms(candidate.p99)} vs ${ms(baseline.p99)} (allowed ≤ ${ms(p99Limit)}), ` +
        `API requests ${loadRatio} × plain's (allowed ≤ ${CRITERIA.loadFactor} ×)` +
        (costApplies
          ? `: the gain is under ${CRITERIA.gainForCost} pt, so the cost must be small`
          : `: not judged, the gain is ${CRITERIA.gainForCost} pt or more`),
    },
    {
      id: 'no-storm',
      applies: true,
      pass: candidate.upstreamReceived <= CRITERIA.stormFactor * baseline.upstreamReceived + EPSILON,
      detail: `API requests ${candidate.upstreamReceived} vs ${baseline.upstreamReceived} (${loadRatio} ×; allowed ≤ ${CRITERIA.stormFactor} ×)`,
    },
    {
      id: 'blackhole-gain',
      applies: blackhole,
      pass: !blackhole || gain >= CRITERIA.blackholeGain - EPSILON,
      detail: blackhole
        ? `${rate}; a black hole needs ≥ +${CRITERIA.blackholeGain} pt)`
        : 'no black hole in this scenario',
    },
  ];
  const outcome = criteria.every((c) => c.pass) ? 'pass' : 'fail';
  return { ...base, outcome, gain, criteria };
}

/** The criteria of a verdict that failed, for a one-line summary. */
export function failedCriteria(verdict: Verdict): CriterionResult[] {
  return verdict.criteria.filter((c) => c.applies && !c.pass);
}

/** A short label per criterion, as the reports name them. */
export const CRITERION_LABELS: Record<CriterionId, string> = {
  success: '1 success ≥ plain − 1 pt',
  'cost-without-gain': '2 no latency or load without a gain',
  'no-storm': '3 API requests ≤ 2 × plain',
  'blackhole-gain': '4 black hole: success ≥ plain + 3 pt',
};

/** A one-line reading of a verdict: `PASS (+0.4 pt, p99 312 ms vs 15 ms, 1.02 × requests)`. */
export function verdictLine(verdict: Verdict, input: VerdictInput, baseline: VerdictInput): string {
  if (verdict.outcome === 'n/a') return `n/a: no calls to compare`;
  const figures = `${signed(verdict.gain ?? 0)} pt success, p99 ${ms(input.p99)} vs ${ms(baseline.p99)}, ${ratio(input.upstreamReceived, baseline.upstreamReceived)} × API requests`;
  if (verdict.outcome === 'pass') return `PASS (${figures})`;
  const failed = failedCriteria(verdict).map((c) => `fails ${CRITERION_LABELS[c.id]}`);
  return `FAIL: ${failed.join('; ')} (${figures})`;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function signed(points: number): string {
  const rounded = Math.round(points * 10) / 10;
  return rounded > 0 ? `+${rounded.toFixed(1)}` : rounded < 0 ? `−${(-rounded).toFixed(1)}` : '±0.0';
}

function ms(value: number | null): string {
  if (value === null) return '–';
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

function ratio(a: number, b: number): string {
  if (b === 0) return a === 0 ? '1.00' : '∞';
  return (a / b).toFixed(2);
}
