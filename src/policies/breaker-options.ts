/**
 * Options of the circuit breaker, their defaults and their validation (errors name
 * `circuitBreaker.<option>`), kept apart from the state machine.
 */
import { systemClock, type Clock } from '../clock.js';
import { invalidOption } from '../errors.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  checkString,
  noSuchOption,
  requireInteger,
} from '../validate.js';
import type { CircuitStateChange } from './circuit-state.js';

/** Where outcomes are counted: the last `ms` in `buckets` time buckets, or the last `calls` calls. */
export type BreakerWindow =
  | {
      /** Length of a time window in ms, an integer from 1 up. */
      readonly ms: number;
      /** Buckets the time window slides by, an integer from 1 to 1_000 and at most `ms`. @default 10 */
      readonly buckets?: number;
    }
  | {
      /** A count window: the last `calls` calls, an integer from 1 to 100_000. */
      readonly calls: number;
    };

/**
 * Options of {@link CircuitBreaker} (the client's `circuitBreaker` option).
 *
 * Recipes:
 * - Hardhat's fuse, "N failures in T ms blow it for R ms" (fuse's `{standard, MaxR, T}` melts on
 *   failure MaxR + 1, so N = MaxR + 1):
 *   `{ failureThreshold: N, failureRatio: false, window: { ms: T }, openDuration: R, maxOpenDuration: R }`.
 *   Unlike the fuse, after R one probe goes first instead of every caller at once.
 * - HTTPower, "5 failures among the last 10 calls open it for 60 s":
 *   `{ window: { calls: 10 }, failureThreshold: 5, openDuration: 60_000, maxOpenDuration: 60_000 }`.
 */
export interface CircuitBreakerOptions {
  /**
   * The key in events, snapshots and errors (the client uses the origin or the request's `key`).
   * @default 'default'
   */
  readonly key?: string;
  /**
   * Trip when at least `minimumCalls` calls in the window saw this share of failures, in (0, 1].
   * `false` leaves only `failureThreshold`.
   * @default 0.5
   */
  readonly failureRatio?: number | false;
  /**
   * Calls the window must hold before `failureRatio` is judged (capped at `window.calls`).
   * @default 20
   */
  readonly minimumCalls?: number;
  /**
   * Trip when the window holds this many failures, whatever the ratio. Off unless given.
   * @default false
   */
  readonly failureThreshold?: number | false;
  /**
   * Trip when this many calls in a row failed over at least 100 ms, whatever the window holds (a
   * success resets the count; calls that say nothing of health, such as load signals, leave it as
   * it is). It catches a sudden total failure at once, where a ratio over a window full of earlier
   * successes would wait for as many failures as the window holds successes; the 100 ms keep one
   * burst (a reset connection failing every request in flight on it) from tripping it. `false`
   * turns it off.
   * @default 20
   */
  readonly consecutiveFailures?: number | false;
  /**
   * The sliding window.
   * @default { ms: 30_000, buckets: 10 }
   */
  readonly window?: BreakerWindow;
  /**
   * How long the circuit stays open after tripping, ms, before one probe may go; doubles after
   * each failed probe up to `maxOpenDuration`. Short, because every ms the circuit stays open
   * after the dependency is back fails calls that would have succeeded.
   * @default 100
   */
  readonly openDuration?: number;
  /**
   * The cap of the doubling open duration, ms: a failing dependency sees one probe per this long
   * from each breaker, and a recovered one waits on average half of it to be used again.
   * @default 100 (or `openDuration`, when that is longer)
   */
  readonly maxOpenDuration?: number;
  /**
   * Probes admitted in half-open; all must pass to close.
   * @default 1
   */
  readonly halfOpenRequests?: number;
  /**
   * Source of time.
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Told of every state change (after it happened). Must not throw: an error reaches the caller. */
  readonly onStateChange?: (change: CircuitStateChange) => void;
}

/** {@link CircuitBreakerOptions} validated, defaults applied. */
export interface ResolvedBreakerOptions {
  readonly key: string;
  readonly failureRatio: number | undefined;
  readonly minimumCalls: number;
  readonly failureThreshold: number | undefined;
  readonly consecutiveFailures: number | undefined;
  readonly window: { readonly ms: number; readonly buckets: number } | { readonly calls: number };
  readonly openDuration: number;
  readonly maxOpenDuration: number;
  readonly halfOpenRequests: number;
  readonly onStateChange: ((change: CircuitStateChange) => void) | undefined;
  readonly clock: Clock;
  /** A time window: each outcome reads the clock (a count window needs no time). */
  readonly timed: boolean;
}

/** The option names of {@link CircuitBreakerOptions} (the client's `circuitBreaker` reuses them). */
export const BREAKER_OPTION_KEYS = [
  'key',
  'failureRatio',
  'minimumCalls',
  'failureThreshold',
  'consecutiveFailures',
  'window',
  'openDuration',
  'maxOpenDuration',
  'halfOpenRequests',
  'clock',
  'onStateChange',
] as const satisfies readonly (keyof CircuitBreakerOptions)[];

/** The default open duration and its cap, ms: see docs/load-protection.md for the measurements. */
export const DEFAULT_OPEN_MS = 100;
const DEFAULT_CONSECUTIVE_FAILURES = 20;

/** The longest duration accepted (Node's timer limit, about 24.8 days). */
const MAX_MS = 2_147_483_647;

function resolveWindow(value: unknown): ResolvedBreakerOptions['window'] {
  const expected = 'an object { ms, buckets? } or { calls }';
  if (typeof value !== 'object' || value === null)
    throw invalidOption('circuitBreaker.window', value, expected);
  const window = value as Record<string, unknown>;
  if ('calls' in window) {
    if ('ms' in window || 'buckets' in window) throw invalidOption('circuitBreaker.window', value, expected);
    checkKeys('options', 'circuitBreaker.window', window, ['calls']);
    return { calls: requireInteger('options', 'circuitBreaker.window.calls', window.calls, 1, 100_000) };
  }
  checkKeys('options', 'circuitBreaker.window', window, ['ms', 'buckets']);
  const ms = requireInteger('options', 'circuitBreaker.window.ms', window.ms, 1, MAX_MS);
  const buckets =
    checkNumber('options', 'circuitBreaker.window.buckets', window.buckets, 1, 1_000, true) ??
    Math.min(10, ms);
  if (buckets > ms)
    throw invalidOption('circuitBreaker.window.buckets', buckets, `at most window.ms (${ms})`);
  return { ms, buckets };
}

/** Validates and fills in defaults. @throws BulwarkError `INVALID_OPTIONS`. */
export function resolveBreakerOptions(options: CircuitBreakerOptions): ResolvedBreakerOptions {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidOption('circuitBreaker', options, 'an object, or false to disable');
  }
  checkKeys(
    'options',
    'circuitBreaker',
    options as Record<string, unknown>,
    BREAKER_OPTION_KEYS,
    noSuchOption,
  );
  const {
    key = 'default',
    failureRatio = 0.5,
    failureThreshold = false,
    consecutiveFailures = DEFAULT_CONSECUTIVE_FAILURES,
    onStateChange,
    clock,
  } = options;
  checkString('options', 'circuitBreaker.key', key);
  if (
    failureRatio !== false &&
    (typeof failureRatio !== 'number' || !(failureRatio > 0 && failureRatio <= 1))
  ) {
    throw invalidOption('circuitBreaker.failureRatio', failureRatio, 'a number in (0, 1], or false');
  }
  const threshold =
    failureThreshold === false
      ? undefined
      : requireInteger('options', 'circuitBreaker.failureThreshold', failureThreshold, 1, 100_000);
  const streak =
    consecutiveFailures === false
      ? undefined
      : requireInteger('options', 'circuitBreaker.consecutiveFailures', consecutiveFailures, 1, 100_000);
  if (failureRatio === false && threshold === undefined && streak === undefined) {
    throw invalidOption(
      'circuitBreaker.failureRatio',
      failureRatio,
      'a ratio unless failureThreshold or consecutiveFailures is set',
    );
  }
  const window = resolveWindow(options.window ?? { ms: 30_000, buckets: 10 });
  const minimumCalls = requireInteger(
    'options',
    'circuitBreaker.minimumCalls',
    options.minimumCalls ?? 20,
    1,
    1_000_000,
  );
  const openDuration = requireInteger(
    'options',
    'circuitBreaker.openDuration',
    options.openDuration ?? DEFAULT_OPEN_MS,
    1,
    MAX_MS,
  );
  const maxOpenDuration = requireInteger(
    'options',
    'circuitBreaker.maxOpenDuration',
    options.maxOpenDuration ?? Math.max(DEFAULT_OPEN_MS, openDuration),
    1,
    MAX_MS,
  );
  if (maxOpenDuration < openDuration) {
    throw invalidOption(
      'circuitBreaker.maxOpenDuration',
      maxOpenDuration,
      `at least openDuration (${openDuration}${options.openDuration === undefined ? ' ms, the default' : ''})`,
    );
  }
  checkFunction('options', 'circuitBreaker.onStateChange', onStateChange);
  if (clock !== undefined && (typeof clock !== 'object' || typeof clock.now !== 'function')) {
    throw invalidOption('circuitBreaker.clock', clock, 'a Clock');
  }
  return {
    key,
    failureRatio: failureRatio === false ? undefined : failureRatio,
    minimumCalls: 'calls' in window ? Math.min(minimumCalls, window.calls) : minimumCalls,
    failureThreshold: threshold,
    consecutiveFailures: streak,
    window,
    openDuration,
    maxOpenDuration,
    halfOpenRequests: requireInteger(
      'options',
      'circuitBreaker.halfOpenRequests',
      options.halfOpenRequests ?? 1,
      1,
      1_000,
    ),
    onStateChange,
    clock: clock ?? systemClock,
    timed: !('calls' in window),
  };
}
