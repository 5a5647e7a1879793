/**
 * The contract between the concurrency limiter and its control laws. A {@link LimitAlgorithm} is
 * pure: it sees only the samples it is fed (their own timestamps included) and owns no timer,
 * so each law is tested by feeding numbers and asserting the limit that comes out.
 */

import { invalidOption } from '../../errors.js';

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
  const minLimit = checkInteger(
    'concurrency.minLimit',
    bounds.minLimit ?? DEFAULT_BOUNDS.minLimit,
    1,
    MAX_LIMIT,
  );
  const maxLimit = checkInteger(
    'concurrency.maxLimit',
    bounds.maxLimit ?? Math.max(DEFAULT_BOUNDS.maxLimit, minLimit),
    minLimit,
    MAX_LIMIT,
  );
  const initialLimit =
    bounds.initialLimit === undefined
      ? Math.min(maxLimit, Math.max(minLimit, DEFAULT_BOUNDS.initialLimit))
      : checkInteger('concurrency.initialLimit', bounds.initialLimit, minLimit, maxLimit);
  return { initialLimit, minLimit, maxLimit };
}

/** Returns `value` if it is an integer in [min, max], else throws `INVALID_OPTIONS` naming `path`. */
export function checkInteger(path: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(path, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** Returns `value` if it is a finite number in the range, else throws naming `path` and `allowed`. */
export function checkNumber(
  path: string,
  value: unknown,
  accept: (n: number) => boolean,
  allowed: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !accept(value)) {
    throw invalidOption(path, value, allowed);
  }
  return value;
}

/** Throws for an options object that is not a plain object or carries a key not in `known`. */
export function checkKeys(path: string, options: unknown, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidOption(path, options, 'an object');
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw invalidOption(
        `${path}.${key}`,
        (options as Record<string, unknown>)[key],
        `one of the options ${known.join(', ')}`,
      );
    }
  }
}

/** Samples whose RTT is not a positive finite number carry no latency information. */
export function hasLatency(rttMs: number): boolean {
  return rttMs > 0 && rttMs < Number.POSITIVE_INFINITY;
}

/** Clamps `value` into [min, max]. */
export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}
