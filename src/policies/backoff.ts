/**
 * Exponential backoff with jitter.
 *
 * A backoff here is a pure function of its validated settings, the retry index and one random
 * draw: `backoffDelay(resolveBackoff(options), retry, random)`. It holds no state, so it is
 * immutable by construction (cockatiel's `next()` values without the allocation per retry), and
 * two calls with the same draw give the same delay, which is what the tests pin.
 */
import type { RandomSource } from '../clock.js';
import { checkNumber, validationError, type Scope } from '../validate.js';

/**
 * How the delay is spread below its ceiling `c = min(maxDelay, base · 2^retry)`:
 * - `'full'`: uniform in `[0, c]` (AWS "full jitter": the best at spreading a herd);
 * - `'equal'`: `c/2` plus uniform in `[0, c/2]` (never shorter than half the ceiling);
 * - `'none'`: exactly `c` (only for tests and single clients: synchronized herds).
 */
export type Jitter = 'full' | 'equal' | 'none';

/** Options of the exponential backoff. */
export interface BackoffOptions {
  /**
   * Ceiling of the first retry's delay, in ms; it doubles per retry.
   * @default 100
   */
  baseDelay?: number;
  /**
   * Largest delay ceiling, in ms.
   * @default 10_000
   */
  maxDelay?: number;
  /**
   * How the delay is spread below its ceiling.
   * @default 'full'
   */
  jitter?: Jitter;
  /**
   * The base used instead of `baseDelay` after a throttling answer (429, 503) that carried no
   * hint: an overloaded server needs longer than a transient blip (AWS waits 1 s vs 50 ms).
   * @default 1_000
   */
  throttledBaseDelay?: number;
}

/** Validated backoff settings. Build with {@link resolveBackoff}. */
export interface Backoff {
  readonly baseDelay: number;
  readonly maxDelay: number;
  readonly jitter: Jitter;
  readonly throttledBaseDelay: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: Backoff = Object.freeze({
  baseDelay: 100,
  maxDelay: 10_000,
  jitter: 'full',
  throttledBaseDelay: 1_000,
});

const JITTERS: readonly Jitter[] = ['full', 'equal', 'none'];
const MAX_DELAY_LIMIT = 86_400_000;
// 2^62 already exceeds any allowed maxDelay, and stops 0 · 2^n from becoming 0 · Infinity = NaN.
const MAX_EXPONENT = 62;

function delayOption(scope: Scope, path: string, value: number | undefined, fallback: number): number {
  const allowed = 'a number of milliseconds from 0 to 86_400_000';
  return checkNumber(scope, path, value, 0, MAX_DELAY_LIMIT, false, allowed) ?? fallback;
}

/**
 * Validates backoff options and fills the defaults. `path` prefixes option names in errors;
 * `scope` says whose they are (`'request'` for one call's overrides: `INVALID_REQUEST`).
 * @throws BulwarkError `INVALID_OPTIONS` naming the option, e.g. `retry.maxDelay`.
 * @example const b = resolveBackoff({ baseDelay: 200 }, 'retry');
 */
export function resolveBackoff(
  options: BackoffOptions = {},
  path = 'retry',
  scope: Scope = 'options',
): Backoff {
  const baseDelay = delayOption(scope, `${path}.baseDelay`, options.baseDelay, DEFAULT_BACKOFF.baseDelay);
  const maxDelay = delayOption(scope, `${path}.maxDelay`, options.maxDelay, DEFAULT_BACKOFF.maxDelay);
  const throttledBaseDelay = delayOption(
    scope,
    `${path}.throttledBaseDelay`,
    options.throttledBaseDelay,
    DEFAULT_BACKOFF.throttledBaseDelay,
  );
  if (maxDelay < baseDelay) {
    // Blame the option that was set: a baseDelay above the default maxDelay is the baseDelay's.
    if (options.maxDelay === undefined) {
      throw validationError(
        scope,
        `${path}.baseDelay`,
        baseDelay,
        `at most maxDelay (${maxDelay} ms, the default): raise maxDelay too`,
      );
    }
    const whose = options.baseDelay === undefined ? ' ms, the default' : '';
    throw validationError(
      scope,
      `${path}.maxDelay`,
      maxDelay,
      `a number not below baseDelay (${baseDelay}${whose})`,
    );
  }
  const jitter = options.jitter ?? DEFAULT_BACKOFF.jitter;
  if (!JITTERS.includes(jitter))
    throw validationError(scope, `${path}.jitter`, jitter, "one of 'full', 'equal', 'none'");
  if (
    baseDelay === DEFAULT_BACKOFF.baseDelay &&
    maxDelay === DEFAULT_BACKOFF.maxDelay &&
    jitter === DEFAULT_BACKOFF.jitter &&
    throttledBaseDelay === DEFAULT_BACKOFF.throttledBaseDelay
  ) {
    return DEFAULT_BACKOFF;
  }
  return Object.freeze({ baseDelay, maxDelay, jitter, throttledBaseDelay });
}

/**
 * The ceiling of retry number `retry` (0 for the first retry): `min(maxDelay, base · 2^retry)`,
 * where base is `throttledBaseDelay` when `throttled`.
 */
export function backoffCeiling(backoff: Backoff, retry: number, throttled = false): number {
  const base = throttled ? backoff.throttledBaseDelay : backoff.baseDelay;
  const exponent = retry <= 0 ? 0 : retry >= MAX_EXPONENT ? MAX_EXPONENT : Math.floor(retry);
  return Math.min(backoff.maxDelay, base * 2 ** exponent);
}

/**
 * The delay before retry number `retry` (0 for the first retry), in whole ms, drawn with
 * `random` according to the jitter mode. Always within `[0, maxDelay]`.
 * @example backoffDelay(DEFAULT_BACKOFF, 0, () => 0.5) // 50: half of the 100 ms ceiling
 */
export function backoffDelay(
  backoff: Backoff,
  retry: number,
  random: RandomSource,
  throttled = false,
): number {
  const ceiling = backoffCeiling(backoff, retry, throttled);
  if (backoff.jitter === 'none') return Math.floor(ceiling);
  // A misbehaving random source must not push the delay out of its bounds.
  const raw = random();
  const draw = raw > 0 ? (raw < 1 ? raw : 1) : 0;
  if (backoff.jitter === 'full') return Math.floor(draw * ceiling);
  const half = ceiling / 2;
  return Math.floor(half + draw * half);
}
