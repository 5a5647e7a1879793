/**
 * The retry row of the stage table: the `retry` and `hedging` options (types, key lists, parse),
 * a request's `retry` override, and the retry stage built from them.
 */
import type { BulwarkResponse } from '../http/response.js';
import type { Clock, RandomSource } from '../clock.js';
import { LatencyWindow } from '../policies/latency-window.js';
import { RetryPolicy, type RetryOptions } from '../policies/retry.js';
import { RetryBudgets, type RetryBudgetOptions } from '../policies/retry-budget.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  isRecord,
  optionKeys,
  validationError,
  type Scope,
} from '../validate.js';
import type { AttemptOutcome, HttpRetrySettings, RetryOverride } from './call-policies.js';
import { createRetryStage, type HedgingSettings, type RetryGate } from './retry-stage.js';
import { policyRow, type BuiltRow, type StageEnv } from './stage-descriptor.js';

/** Retry options of a client (`retry`). */
export interface RetryClientOptions {
  /** Retries after the first attempt, an integer from 0 to 100. @default 3 */
  maxRetries?: number;
  /** Ceiling of the first backoff delay in ms (it doubles per retry), from 0 to 86_400_000. @default 100 */
  baseDelay?: number;
  /** Cap of one backoff delay in ms, at least `baseDelay`. @default 10_000 */
  maxDelay?: number;
  /** How a delay is spread below its ceiling: `'full'` (0 to ceiling), `'equal'` (half to ceiling) or `'none'`. @default 'full' */
  jitter?: 'full' | 'equal' | 'none';
  /** Base in ms after a throttling answer (429, 503) without a hint. @default 1_000 */
  throttledBaseDelay?: number;
  /** Statuses retried (100 to 599). @default [408, 429, 500, 502, 503, 504] */
  statuses?: readonly number[];
  /** Longest server hint honoured in ms (0 to 86_400_000); a longer one returns the response at once. @default 60_000 */
  maxRetryAfter?: number;
  /**
   * Retry budget per key: at most `ratio` of requests plus `minPerSecond` retries, counted over
   * `ttlMs`; `false` disables it.
   * @default { ratio: 0.2, minPerSecond: 10, ttlMs: 10_000 }
   */
  budget?: RetryBudgetOptions | false;
  /**
   * Overrides the decision: true retries, false stops, undefined keeps the default judgement.
   * @default none: statuses, network errors and attempt timeouts of idempotent requests are retried
   */
  shouldRetry?: (outcome: AttemptOutcome) => boolean | undefined;
}

/** A request's `retry`: each field replaces the client's for this call only. */
export interface RequestRetryOptions {
  /** Retries after the first attempt, an integer from 0 to 100. @default the client's (3) */
  maxRetries?: number;
  /** Ceiling of the first backoff delay in ms (it doubles per retry). @default the client's (100) */
  baseDelay?: number;
  /** Cap of one backoff delay in ms. @default the client's (10_000) */
  maxDelay?: number;
  /** How a delay is spread below its ceiling. @default the client's ('full') */
  jitter?: 'full' | 'equal' | 'none';
  /** Base in ms after a throttling answer (429, 503) without a hint. @default the client's (1_000) */
  throttledBaseDelay?: number;
  /** Longest server hint honoured in ms; a longer one returns the response at once. @default the client's (60_000) */
  maxRetryAfter?: number;
  /** Statuses retried (100 to 599). @default the client's ([408, 429, 500, 502, 503, 504]) */
  statuses?: readonly number[];
  /** Overrides the decision: true retries, false stops, undefined keeps the default judgement. @default the client's */
  shouldRetry?: (outcome: AttemptOutcome) => boolean | undefined;
}

/** Hedging options (`hedging`); off by default. */
export interface HedgingOptions {
  /** Delay before the hedge: ms, or `'p95'` of recent latencies. @default 'p95' */
  delay?: number | 'p95';
  /** Extra attempts at most. @default 1 */
  maxHedges?: number;
  /** Delay while fewer than 20 latencies are known (`delay: 'p95'`), ms. @default 2_000 */
  fallbackDelay?: number;
}

const RETRY_KEYS = optionKeys<RetryClientOptions>()([
  'maxRetries',
  'baseDelay',
  'maxDelay',
  'jitter',
  'throttledBaseDelay',
  'statuses',
  'maxRetryAfter',
  'budget',
  'shouldRetry',
]);
const REQUEST_RETRY_KEYS = optionKeys<RequestRetryOptions>()(
  RETRY_KEYS.filter((k): k is Exclude<typeof k, 'budget'> => k !== 'budget'),
);
const BUDGET_KEYS = optionKeys<RetryBudgetOptions>()(['ratio', 'minPerSecond', 'ttlMs']);
const HEDGING_KEYS = optionKeys<HedgingOptions>()(['delay', 'maxHedges', 'fallbackDelay']);
const DEFAULT_STATUSES = [408, 429, 500, 502, 503, 504];

/** The client's `retry` and `hedging`, parsed. The stage is always built: a request may bring a retry of its own. */
interface RetrySettings {
  /** The client's `retry` section, the base a request's overrides merge over; undefined with `retry: false`. */
  readonly section: Record<string, unknown> | undefined;
  readonly budgets: RetryBudgets | undefined;
  readonly policy: RetryPolicy<BulwarkResponse> | undefined;
  readonly http: HttpRetrySettings;
  readonly hedging: HedgingSettings | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
}

interface BuiltRetry extends BuiltRow {
  readonly settings: RetrySettings;
}

/** The retry stage (with hedging): dedupe and the deadline outside it, the breaker and limiters inside. */
export const retryRow = policyRow<'retry', RetrySettings, BuiltRetry>({
  name: 'retry',
  parse: (options, env) => parseRetry(options.retry, options.hedging, env),
  build: (settings, env) => {
    const { policy, budgets, hedging } = settings;
    const gates = env.gates;
    const gate: RetryGate = (ctx, delayMs, responded) => gates.every((g) => g(ctx, delayMs, responded));
    const stage = {
      name: 'retry',
      middleware: createRetryStage(policy, settings.http, hedging, gate, env.wakers),
      ...(policy === undefined && hedging === undefined
        ? {}
        : { inspect: () => ({ enabled: policy !== undefined, budgets: budgets?.inspect() ?? [] }) }),
    };
    return { stages: [stage], settings };
  },
  request: (value, built) => (built === undefined ? undefined : retryFor(value, built.settings)),
});

function parseRetry(retryValue: unknown, hedgingValue: unknown, env: StageEnv): RetrySettings {
  const { clock, random } = env;
  let section: Record<string, unknown> | undefined;
  let budgets: RetryBudgets | undefined;
  let policy: RetryPolicy<BulwarkResponse> | undefined;
  if (retryValue !== false) {
    section = retryValue === undefined ? {} : retryObject('options', retryValue);
    checkKeys('options', 'retry', section, RETRY_KEYS);
    if (section.budget !== false) {
      const b = checkObject('options', 'retry.budget', section.budget) ?? {};
      checkKeys('options', 'retry.budget', b, BUDGET_KEYS);
      budgets = new RetryBudgets({ ...b, clock }, 'retry.budget');
    }
    policy = makeRetry(section, budgets, clock, random, 'options');
  }
  const http: HttpRetrySettings = {
    statuses: new Set(resolveStatuses('options', section?.statuses)),
    shouldRetry: checkFunction('options', 'retry.shouldRetry', section?.shouldRetry) as
      ((o: AttemptOutcome) => boolean | undefined) | undefined,
  };
  const hedging = parseHedging(hedgingValue, budgets);
  return { section, budgets, policy, http, hedging, clock, random };
}

function parseHedging(value: unknown, budgets: RetryBudgets | undefined): HedgingSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const h = checkObject('options', 'hedging', value === true ? {} : value) ?? {};
  checkKeys('options', 'hedging', h, HEDGING_KEYS);
  const delay =
    h.delay === undefined || h.delay === 'p95'
      ? 'p95'
      : checkNumber('options', 'hedging.delay', h.delay, 0, 600_000);
  return {
    delay: delay ?? 'p95',
    fallbackDelay: checkNumber('options', 'hedging.fallbackDelay', h.fallbackDelay, 0, 600_000) ?? 2_000,
    maxHedges: checkNumber('options', 'hedging.maxHedges', h.maxHedges, 1, 10, true) ?? 1,
    window: new LatencyWindow(),
    budgets,
  };
}

/** A request's `retry`: a policy of its own over the client's section, sharing the client's budget. */
function retryFor(value: unknown, client: RetrySettings): RetryOverride {
  if (value === undefined) return undefined;
  if (value === false) return false;
  const own = retryObject('request', value);
  checkKeys('request', 'retry', own, REQUEST_RETRY_KEYS);
  const { statuses, shouldRetry, ...timing } = own;
  const http =
    statuses === undefined && shouldRetry === undefined
      ? undefined
      : {
          statuses:
            statuses === undefined ? client.http.statuses : new Set(resolveStatuses('request', statuses)),
          shouldRetry:
            shouldRetry === undefined
              ? client.http.shouldRetry
              : (checkFunction('request', 'retry.shouldRetry', shouldRetry) as (
                  o: AttemptOutcome,
                ) => boolean | undefined),
        };
  // On a client with `retry: false` there is no budget: the request's maxRetries bounds its retries.
  const merged = { ...(client.section ?? {}), ...timing };
  const policy = makeRetry(merged, client.budgets, client.clock, client.random, 'request');
  return { policy, http };
}

/** `retry` as an object; `retry: 3` is told how to say it. */
function retryObject(scope: Scope, value: unknown): Record<string, unknown> {
  if (isRecord(value)) return value;
  const allowed =
    typeof value === 'number'
      ? `an object such as { maxRetries: ${value} }, or false`
      : 'an object of retry options, or false';
  throw validationError(scope, 'retry', value, allowed);
}

/** The retry policy of the client's section, or of one request's overrides (`scope: 'request'`); the policy checks the backoff. */
function makeRetry(
  section: Record<string, unknown>,
  budgets: RetryBudgets | undefined,
  clock: Clock,
  random: RandomSource,
  scope: Scope,
): RetryPolicy<BulwarkResponse> {
  const { statuses: _s, shouldRetry: _r, budget: _b, ...rest } = section;
  return new RetryPolicy<BulwarkResponse>(
    { ...(rest as RetryOptions<BulwarkResponse>), budget: budgets ?? false, clock, random },
    'retry',
    scope,
  );
}

function resolveStatuses(scope: Scope, value: unknown): number[] {
  if (value === undefined) return DEFAULT_STATUSES;
  if (
    !Array.isArray(value) ||
    value.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 599)
  ) {
    throw validationError(scope, 'retry.statuses', value, 'an array of HTTP status codes (100–599)');
  }
  return value as number[];
}
