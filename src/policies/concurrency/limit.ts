/**
 * The contract between the concurrency limiter and its control laws. A {@link LimitAlgorithm} is
 * pure: it sees only the samples it is fed (their own timestamps included) and owns no timer,
 * so each law is tested by feeding numbers and asserting the limit that comes out.
 */

import { checkKeys, requireInteger, requireRecord } from '../../validate.js';

/** One completed request, as the limiter reports it to the algorithm. */
export interface LimitSample {
  /** When the request was admitted, epoch ms of the limiter's clock. */
  readonly startTime: number;
  /** Round-trip time, ms: admission to completion (time spent queued is not counted). */
  readonly rttMs: number;
  /** Requests in flight when this one was admitted, itself included. */
  readonly inflight: number;
  /** The request was shed or timed out (timeouts, 429, 503): a congestion signal. */
  readonly dropped: boolean;
}

/**
 * A control law that turns samples into a concurrency limit (Netflix concurrency-limits' `Limit`).
 * The limiter reads `limit` after every sample; an implementation only changes it inside `onSample`.
 * @example
 * const limit = new AimdLimit();
 * limit.onSample({ startTime: 0, rttMs: 12, inflight: 20, dropped: false });
 * limit.limit; // 21
 */
export interface LimitAlgorithm {
  /** The current limit: an integer >= 1. */
  readonly limit: number;
  /** Feeds one sample. Must not throw for any finite input. */
  onSample(sample: LimitSample): void;
}

/** The bounds every built-in algorithm shares. */
export interface LimitBounds {
  /**
   * The limit before any sample arrives.
   * @default 20 (clamped into [minLimit, maxLimit] when those are set and it is not)
   */
  initialLimit?: number;
  /**
   * The limit never goes below this.
   * @default 1
   */
  minLimit?: number;
  /**
   * The limit never goes above this.
   * @default 200
   */
  maxLimit?: number;
}

/** Bounds with every default applied and checked. */
export interface ResolvedBounds {
  readonly initialLimit: number;
  readonly minLimit: number;
  readonly maxLimit: number;
}

/** The defaults of DESIGN.md §2 (Netflix's, with a floor of 1 instead of 20). */
export const DEFAULT_BOUNDS: ResolvedBounds = { initialLimit: 20, minLimit: 1, maxLimit: 200 };

/** The largest limit accepted: far above any sane pool, low enough to catch a unit mistake. */
export const MAX_LIMIT = 100_000;

/** Applies the defaults to `bounds` and validates them; errors name `concurrency.<option>`. */
export function resolveBounds(bounds: LimitBounds): ResolvedBounds {
  const minLimit = requireInteger(
    'options',
    'concurrency.minLimit',
    bounds.minLimit ?? DEFAULT_BOUNDS.minLimit,
    1,
    MAX_LIMIT,
  );
  const maxLimit = requireInteger(
    'options',
    'concurrency.maxLimit',
    bounds.maxLimit ?? Math.max(DEFAULT_BOUNDS.maxLimit, minLimit),
    minLimit,
    MAX_LIMIT,
  );
  const initialLimit =
    bounds.initialLimit === undefined
      ? Math.min(maxLimit, Math.max(minLimit, DEFAULT_BOUNDS.initialLimit))
      : requireInteger('options', 'concurrency.initialLimit', bounds.initialLimit, minLimit, maxLimit);
  return { initialLimit, minLimit, maxLimit };
}

const listOptions = (known: readonly string[]): string => `one of the options ${known.join(', ')}`;

/** Throws for an options object that is not a plain object or carries a key not in `known`. */
export function checkOptionKeys(path: string, options: unknown, known: readonly string[]): void {
  checkKeys('options', path, requireRecord('options', path, options), known, listOptions);
}

/** Samples whose RTT is not a positive finite number carry no latency information. */
export function hasLatency(rttMs: number): boolean {
  return rttMs > 0 && rttMs < Number.POSITIVE_INFINITY;
}

/** Clamps `value` into [min, max]. */
export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
