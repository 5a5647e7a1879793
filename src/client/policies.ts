import { invalidOption } from '../errors.js';
import { DEFAULT_OPEN_MS } from '../policies/breaker-options.js';
import { CircuitBreakers, type CircuitBreakersOptions } from '../policies/circuit-breakers.js';
import { ConcurrencyLimiter, type ConcurrencyLimiterOptions } from '../policies/concurrency/index.js';
import { TUNABLE_LIMITER_KEYS } from '../policies/concurrency/options.js';
import { AimdLimit, type AimdOptions } from '../policies/concurrency/aimd.js';
import { LatencyWindow } from '../policies/latency-window.js';
import { RateLimiter, type RateLimiterOptions } from '../policies/rate-limiter.js';
import { RetryPolicy, type RetryOptions } from '../policies/retry.js';
import { RetryBudgets, type RetryBudgetOptions } from '../policies/retry-budget.js';
import { createBreakerStage } from '../pipeline/breaker-stage.js';
import { createConcurrencyStage } from '../pipeline/concurrency-stage.js';
import { createDedupeStage } from '../pipeline/dedupe-stage.js';
import type { CallEvents } from '../pipeline/events.js';
import { defaultIsFailure, type AttemptOutcome } from '../pipeline/outcome.js';
import { createRateLimitStage, type RateLimitKey } from '../pipeline/rate-limit-stage.js';
import {
  createRetryStage,
  type HedgingSettings,
  type HttpRetrySettings,
  type RetryGate,
  type RetryOverride,
} from '../pipeline/retry-stage.js';
import type { Middleware } from '../pipeline/types.js';
import { checkPolicyKey, type PolicyKey } from '../pipeline/policy-key.js';
import type { CircuitControl } from './circuit-handle.js';
import { createSharedCircuitStage } from '../pipeline/shared-circuit-stage.js';
import type { CircuitStore } from '../policies/store-contract.js';
import type { BulwarkResponse } from '../http/response.js';
import type { ResolvedClient } from './resolve-options.js';
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  checkOneOf,
  isRecord,
  validationError,
  type Scope,
} from '../validate.js';

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

/** Hedging options (`hedging`); off by default. */
export interface HedgingOptions {
  /** Delay before the hedge: ms, or `'p95'` of recent latencies. @default 'p95' */
  delay?: number | 'p95';
  /** Extra attempts at most. @default 1 */
  maxHedges?: number;
  /** Delay while fewer than 20 latencies are known (`delay: 'p95'`), ms. @default 2_000 */
  fallbackDelay?: number;
}

/** Circuit breaker options of a client. */
export type CircuitBreakerClientOptions = Omit<CircuitBreakersOptions, 'clock' | 'onStateChange'> & {
  /**
   * Which circuit a request belongs to: a fixed string (one circuit for the whole client, as
   * HTTPower's `circuit_breaker_key`), or a function of the request returning a non-empty string.
   * A fixed string takes precedence over the request's `key` option; a function receives it.
   * @default the request's `key`, else its origin (one circuit per origin)
   * @example circuitBreaker: { key: (req) => `${req.origin}${req.path.split('/', 2).join('/')}` }
   */
  key?: PolicyKey;
  /** Shares circuit state across nodes (`redisCircuitStore` of `bulwark/redis`). @default none: each process decides alone */
  store?: CircuitStore;
  /** Judges an attempt: true counts a failure, false a success. @default network errors, timeouts, 5xx other than 503 (429, 503 and a 504 under the caller's propagated deadline are load signals: not counted) */
  isFailure?: (outcome: AttemptOutcome) => boolean;
};

/** Rate limit options of a client. */
export type RateLimitClientOptions = Omit<RateLimiterOptions, 'clock' | 'onEvent'> & {
  /**
   * Bucket key: a fixed string (one bucket for the client), or a function of the request returning
   * a non-empty string. A fixed string takes precedence over the request's `key` option.
   * @default the request's `key`, else its origin (one bucket per origin)
   */
  key?: RateLimitKey;
};

/** Concurrency options of a client. */
export type ConcurrencyClientOptions = Omit<
  ConcurrencyLimiterOptions,
  'clock' | 'random' | 'onLimitChange'
> & {
  /**
   * With `algorithm: 'aimd'` only: the limit is multiplied by this on a drop, in [0.5, 1)
   * (Hardhat's Regulator `backoff_ratio`; 0.5 halves it).
   * @default 0.9
   */
  backoffRatio?: number;
  /**
   * Judges an attempt for the limiter (Hardhat's `should_regulate`): true makes it a drop, which
   * lowers the limit; false a normal latency sample (for an error: no sample). The caller's abort
   * and bulwark's own refusals are never samples, and a timeout while reading the body is always
   * a drop.
   * @default timeouts, network errors, 429 and 503 are drops
   * @example isDropped: (o) => o.error !== undefined || o.response.status === 429
   */
  isDropped?: (outcome: AttemptOutcome) => boolean;
};

/** The stages and state the client owns. */
export interface BuiltPolicies {
  readonly stages: { name: string; middleware: Middleware; inspect?: () => unknown }[];
  readonly retry: RetryPolicy<BulwarkResponse> | undefined;
  readonly budgets: RetryBudgets | undefined;
  /** Builds a per-request retry policy from overrides, sharing the client's budget. */
  readonly retryFor: (override: unknown) => RetryOverride;
  /** The circuits, for `client.circuit(key)`; undefined with `circuitBreaker: false`. */
  readonly circuits: CircuitControl | undefined;
}

const RETRY_KEYS = [
  'maxRetries',
  'baseDelay',
  'maxDelay',
  'jitter',
  'throttledBaseDelay',
  'statuses',
  'maxRetryAfter',
  'budget',
  'shouldRetry',
];
const DEFAULT_STATUSES = [408, 429, 500, 502, 503, 504];
const BREAKER_KEYS = [
  'failureRatio',
  'minimumCalls',
  'failureThreshold',
  'consecutiveFailures',
  'window',
  'openDuration',
  'maxOpenDuration',
  'halfOpenRequests',
  'idleTimeout',
  'isFailure',
  'store',
  'key',
];

/** Builds the policy stages in DESIGN order: dedupe → (deadline) → retry → breaker → rate limit → concurrency. */
export function buildPolicies(
  options: Record<string, unknown>,
  resolved: ResolvedClient,
  events: CallEvents,
): BuiltPolicies {
  const clock = resolved.clock;
  const random = resolved.random;
  const stages: BuiltPolicies['stages'] = [];

  if (checkBoolean('options', 'dedupe', options.dedupe) === true) {
    stages.push({
      name: 'dedupe',
      middleware: createDedupeStage(resolved.deadlineHeader, resolved.requestIdHeader),
    });
  }

  // Retry (with hedging): on unless `retry: false`.
  let retry: RetryPolicy<BulwarkResponse> | undefined;
  let budgets: RetryBudgets | undefined;
  let retryRaw: Record<string, unknown> | undefined;
  if (options.retry !== false) {
    retryRaw = options.retry === undefined ? {} : retryObject('options', options.retry);
    checkKeys('options', 'retry', retryRaw, RETRY_KEYS);
    const budget = retryRaw.budget;
    if (budget !== false) {
      const b = checkObject('options', 'retry.budget', budget) ?? {};
      checkKeys('options', 'retry.budget', b, ['ratio', 'minPerSecond', 'ttlMs']);
      budgets = new RetryBudgets({ ...b, clock }, 'retry.budget');
    }
    retry = makeRetry(retryRaw, budgets, clock, random, 'options');
  }
  let hedging: HedgingSettings | undefined;
  if (options.hedging !== undefined && options.hedging !== false) {
    const h = checkObject('options', 'hedging', options.hedging === true ? {} : options.hedging) ?? {};
    checkKeys('options', 'hedging', h, ['delay', 'maxHedges', 'fallbackDelay']);
    const delay =
      h.delay === undefined || h.delay === 'p95'
        ? 'p95'
        : checkNumber('options', 'hedging.delay', h.delay, 0, 600_000);
    hedging = {
      delay: delay ?? 'p95',
      fallbackDelay: checkNumber('options', 'hedging.fallbackDelay', h.fallbackDelay, 0, 600_000) ?? 2_000,
      maxHedges: checkNumber('options', 'hedging.maxHedges', h.maxHedges, 1, 10, true) ?? 1,
      window: new LatencyWindow(),
      budgets,
    };
  }
  // Always a stage, even with `retry: false`: a request may still bring a retry of its own.
  const clientHttp: HttpRetrySettings = {
    statuses: new Set(resolveStatuses('options', retryRaw?.statuses)),
    shouldRetry: checkFunction('options', 'retry.shouldRetry', retryRaw?.shouldRetry) as
      ((o: AttemptOutcome) => boolean | undefined) | undefined,
  };
  const usedRetry = retry;
  // Filled below by the breaker and the concurrency limiter: a retry they would refuse is not waited for.
  const gates: RetryGate[] = [];
  const gate: RetryGate = (ctx, delayMs, responded) => gates.every((g) => g(ctx, delayMs, responded));
  stages.push({
    name: 'retry',
    middleware: createRetryStage(retry, clientHttp, hedging, gate),
    ...(retry === undefined && hedging === undefined
      ? {}
      : { inspect: () => ({ enabled: usedRetry !== undefined, budgets: budgets?.inspect() ?? [] }) }),
  });

  // Circuit breaker: on unless `circuitBreaker: false`.
  let circuits: CircuitControl | undefined;
  if (options.circuitBreaker !== false) {
    const raw = { ...(checkObject('options', 'circuitBreaker', options.circuitBreaker) ?? {}) };
    checkKeys('options', 'circuitBreaker', raw, BREAKER_KEYS);
    const isFailure = (checkFunction('options', 'circuitBreaker.isFailure', raw.isFailure) ??
      defaultIsFailure) as (o: AttemptOutcome) => boolean;
    const store = raw.store as CircuitStore | undefined;
    if (
      store !== undefined &&
      (typeof store !== 'object' || typeof (store as Partial<CircuitStore>).check !== 'function')
    ) {
      throw invalidOption(
        'circuitBreaker.store',
        store,
        'a CircuitStore such as redisCircuitStore({ client })',
      );
    }
    const key = checkPolicyKey('circuitBreaker.key', raw.key);
    delete raw.isFailure;
    delete raw.store;
    delete raw.key;
    const breakers: CircuitBreakers = new CircuitBreakers({
      ...(raw as CircuitBreakersOptions),
      clock,
      onStateChange: (change) => {
        events.circuitTransition(
          change.key,
          change.from,
          change.to,
          change.failureRatio,
          change.openMs,
          change.reason,
        );
        // A trip on this node opens the circuit for the fleet.
        const state = breakers.peek(change.key)?.state;
        if (store !== undefined && state?.state === 'open') {
          Promise.resolve(store.open(change.key, Math.max(1, state.until - clock.now()))).catch(
            () => undefined,
          );
        }
      },
    });
    events.observeCircuits(breakers);
    gates.push((ctx, delayMs) => {
      if (ctx.policies.circuitBreaker === false) return true;
      const state = breakers.peek(ctx.key)?.state;
      if (state?.state === 'isolated') return false;
      return state?.state !== 'open' || state.until <= clock.now() + delayMs;
    });
    if (store !== undefined) {
      stages.push({
        name: 'sharedCircuits',
        middleware: createSharedCircuitStage({
          store,
          isFailure,
          // The local breaker's default: at least a minute, never below openDuration.
          maxOpenDuration:
            (raw.maxOpenDuration as number | undefined) ??
            Math.max(DEFAULT_OPEN_MS, (raw.openDuration as number | undefined) ?? 0),
          defaultLeaseMs: 10_000,
          deadlineHeader: resolved.deadlineHeader,
          key,
        }),
      });
    }
    stages.push({
      name: 'circuits',
      middleware: createBreakerStage(breakers, isFailure, { deadlineHeader: resolved.deadlineHeader, key }),
      inspect: () => breakers.snapshot(),
    });
    circuits = { breakers, store, key, origin: resolved.base?.origin };
  }

  // Rate limit: off unless configured.
  if (options.rateLimit !== undefined && options.rateLimit !== false) {
    const raw = { ...(checkObject('options', 'rateLimit', options.rateLimit) ?? {}) };
    checkKeys('options', 'rateLimit', raw, [
      'requests',
      'per',
      'burst',
      'strategy',
      'maxWait',
      'store',
      'key',
    ]);
    const key = checkPolicyKey('rateLimit.key', raw.key);
    delete raw.key;
    const limiter = new RateLimiter({
      ...(raw as unknown as RateLimiterOptions),
      clock,
      onEvent: (event) => {
        if (event.type === 'store-error' && event.fallback !== undefined) {
          events.rateLimitStoreError(event.key, event.fallback, event.error);
        }
      },
    });
    stages.push({
      name: 'rateLimit',
      middleware: createRateLimitStage(limiter, key),
      inspect: () => limiter.snapshot(),
    });
  }

  // Concurrency: off unless configured.
  if (options.concurrency !== undefined && options.concurrency !== false) {
    const raw = { ...(checkObject('options', 'concurrency', options.concurrency) ?? {}) };
    checkKeys('options', 'concurrency', raw, [...TUNABLE_LIMITER_KEYS, 'backoffRatio', 'isDropped']);
    const isDropped = checkFunction('options', 'concurrency.isDropped', raw.isDropped) as
      ((o: AttemptOutcome) => boolean) | undefined;
    delete raw.isDropped;
    if (raw.backoffRatio !== undefined) {
      if (raw.algorithm !== 'aimd') {
        throw invalidOption(
          'concurrency.backoffRatio',
          raw.backoffRatio,
          "no value unless `concurrency.algorithm` is 'aimd' (the other algorithms do not back off by a ratio)",
        );
      }
      const { initialLimit, minLimit, maxLimit, backoffRatio } = raw;
      delete raw.initialLimit;
      delete raw.minLimit;
      delete raw.maxLimit;
      delete raw.backoffRatio;
      raw.algorithm = new AimdLimit({ initialLimit, minLimit, maxLimit, backoffRatio } as AimdOptions);
    }
    const limiter = new ConcurrencyLimiter({ ...(raw as ConcurrencyLimiterOptions), clock, random });
    limiter.onLimitChange((change) => {
      events.concurrencyLimit(resolved.name, change.from, change.to, limiter.inflight);
    });
    events.observeConcurrency(resolved.name, limiter);
    // Checked when the retry is decided: a limiter full now is most likely full a backoff later,
    // and a retry would take the slot of a fresh call.
    gates.push((_ctx, _delayMs, responded) => !limiter.wouldRefuse(responded ? 1 : 0));
    stages.push({
      name: 'concurrency',
      middleware: createConcurrencyStage(limiter, isDropped),
      inspect: () => limiter.snapshot(),
    });
  }

  const retryFor = (override: unknown): RetryOverride => {
    if (override === undefined) return undefined;
    if (override === false) return false;
    const own = retryObject('request', override);
    checkKeys(
      'request',
      'retry',
      own,
      RETRY_KEYS.filter((k) => k !== 'budget'),
    );
    const { statuses, shouldRetry, ...timing } = own;
    const http =
      statuses === undefined && shouldRetry === undefined
        ? undefined
        : {
            statuses:
              statuses === undefined ? clientHttp.statuses : new Set(resolveStatuses('request', statuses)),
            shouldRetry:
              shouldRetry === undefined
                ? clientHttp.shouldRetry
                : (checkFunction('request', 'retry.shouldRetry', shouldRetry) as (
                    o: AttemptOutcome,
                  ) => boolean | undefined),
          };
    // On a client with `retry: false` there is no budget: the request's maxRetries bounds its retries.
    const policy = makeRetry({ ...(retryRaw ?? {}), ...timing }, budgets, clock, random, 'request');
    return { policy, http };
  };
  return { stages, retry, budgets, retryFor, circuits };
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

/** The retry policy of the client's options, or of one request's overrides (`scope: 'request'`). */
function makeRetry(
  raw: Record<string, unknown>,
  budgets: RetryBudgets | undefined,
  clock: ResolvedClient['clock'],
  random: ResolvedClient['random'],
  scope: Scope,
): RetryPolicy<BulwarkResponse> {
  const { statuses: _s, shouldRetry: _r, budget: _b, ...rest } = raw;
  checkOneOf(scope, 'retry.jitter', rest.jitter, ['full', 'equal', 'none']);
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
