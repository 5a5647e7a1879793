// The concurrency limiter's options, their defaults, and their checking into resolved settings.
import { systemClock, systemRandom, type Clock, type RandomSource } from '../../clock.js';
import { invalidOption } from '../../errors.js';
import { checkFunction, requireFinite, requireInteger } from '../../validate.js';
import { AimdLimit } from './aimd.js';
import { FixedLimit } from './fixed.js';
import { Gradient2Limit } from './gradient2.js';
import { checkOptionKeys, resolveBounds } from './limit.js';
import type { LimitAlgorithm, LimitBounds } from './limit.js';
import { VegasLimit } from './vegas.js';

/** The built-in control laws, by name. */
export type LimitAlgorithmName = 'gradient2' | 'aimd' | 'vegas' | 'fixed';

/** A change of the concurrency limit. */
export interface LimitChange {
  readonly from: number;
  readonly to: number;
}

/** Options of {@link ConcurrencyLimiter} (the client's `concurrency` option). */
export interface ConcurrencyLimiterOptions extends LimitBounds {
  /**
   * The control law: a built-in by name, with Netflix's defaults and the bounds below, or any
   * {@link LimitAlgorithm} (then configure its bounds on the instance; the bound options here
   * are refused). `'fixed'` holds `initialLimit` for ever.
   * @default 'gradient2'
   */
  algorithm?: LimitAlgorithmName | LimitAlgorithm;
  /**
   * How many callers may wait for a slot when the limit is reached. 0 fails fast with
   * `CONCURRENCY_LIMITED`, which is what a retrying, deadline-bound client usually wants.
   * @default 0
   */
  maxQueue?: number;
  /**
   * The longest a queued caller waits, ms, before `CONCURRENCY_LIMITED` (Netflix's backlog timeout).
   * Only matters when `maxQueue` > 0; a caller's deadline can cut it shorter.
   * @default 1_000
   */
  queueTimeout?: number;
  /**
   * Source of time: admission timestamps, RTTs and queue timeouts.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Randomness for the algorithms that need it (Vegas' probe jitter).
   * @default systemRandom
   */
  random?: RandomSource;
  /** Called after every change of the limit (for metrics and `bulwark:concurrency`). Must not throw. */
  onLimitChange?: (change: LimitChange) => void;
}

/** {@link ConcurrencyLimiterOptions} validated, defaults applied. */
export interface ResolvedLimiterOptions {
  readonly algorithm: LimitAlgorithm;
  readonly maxQueue: number;
  readonly queueTimeout: number;
  readonly clock: Clock;
  readonly onLimitChange: ((change: LimitChange) => void) | undefined;
}

/** The options a user tunes (the client's `concurrency`); the client supplies the others. */
export const TUNABLE_LIMITER_KEYS = [
  'algorithm',
  'initialLimit',
  'minLimit',
  'maxLimit',
  'maxQueue',
  'queueTimeout',
] as const;

const KEYS = [...TUNABLE_LIMITER_KEYS, 'clock', 'random', 'onLimitChange'] as const;

const BOUND_KEYS = ['initialLimit', 'minLimit', 'maxLimit'] as const;

/** The longest timer Node accepts: a larger delay would silently fire after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** Builds a built-in algorithm; errors name `concurrency.<option>`. */
export function createLimitAlgorithm(
  name: LimitAlgorithmName,
  bounds: LimitBounds = {},
  random?: RandomSource,
): LimitAlgorithm {
  const b: LimitBounds = {};
  if (bounds.initialLimit !== undefined) b.initialLimit = bounds.initialLimit;
  if (bounds.minLimit !== undefined) b.minLimit = bounds.minLimit;
  if (bounds.maxLimit !== undefined) b.maxLimit = bounds.maxLimit;
  switch (name) {
    case 'gradient2':
      return new Gradient2Limit(b);
    case 'aimd':
      return new AimdLimit(b);
    case 'vegas':
      return new VegasLimit({ ...b, random: random ?? systemRandom });
    case 'fixed':
      return new FixedLimit(resolveBounds(b).initialLimit);
  }
}

/** Validates every option of the limiter; errors name `concurrency.<option>`, the value and what is allowed. */
export function resolveLimiterOptions(options: ConcurrencyLimiterOptions): ResolvedLimiterOptions {
  checkOptionKeys('concurrency', options, KEYS);
  const algorithm = resolveAlgorithm(options);
  const maxQueue = requireInteger('options', 'concurrency.maxQueue', options.maxQueue ?? 0, 0, 1_000_000);
  const queueTimeout = requireFinite(
    'options',
    'concurrency.queueTimeout',
    options.queueTimeout ?? 1_000,
    (n) => n > 0 && n <= MAX_TIMER_MS,
    `ms > 0, at most ${MAX_TIMER_MS}`,
  );
  const clock = options.clock ?? systemClock;
  if (
    typeof clock !== 'object' ||
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function'
  ) {
    throw invalidOption('concurrency.clock', clock, 'a Clock with now() and setTimeout()');
  }
  const onLimitChange = checkFunction('options', 'concurrency.onLimitChange', options.onLimitChange);
  return { algorithm, maxQueue, queueTimeout, clock, onLimitChange };
}

const NAMES: readonly string[] = ['gradient2', 'aimd', 'vegas', 'fixed'] satisfies LimitAlgorithmName[];
const ALGORITHM_ALLOWED = "'gradient2', 'aimd', 'vegas', 'fixed' or a LimitAlgorithm";

function resolveAlgorithm(options: ConcurrencyLimiterOptions): LimitAlgorithm {
  // Typed input still comes from JavaScript and JSON config: check what arrived, not what was declared.
  const algorithm: unknown = options.algorithm === undefined ? 'gradient2' : options.algorithm;
  checkFunction('options', 'concurrency.random', options.random, 'a function returning a number in [0, 1)');
  if (typeof algorithm === 'string') {
    if (!NAMES.includes(algorithm))
      throw invalidOption('concurrency.algorithm', algorithm, ALGORITHM_ALLOWED);
    return createLimitAlgorithm(algorithm as LimitAlgorithmName, options, options.random);
  }
  if (
    typeof algorithm !== 'object' ||
    algorithm === null ||
    typeof (algorithm as Partial<LimitAlgorithm>).onSample !== 'function'
  ) {
    throw invalidOption('concurrency.algorithm', algorithm, ALGORITHM_ALLOWED);
  }
  const initial: unknown = (algorithm as LimitAlgorithm).limit;
  if (typeof initial !== 'number' || !(initial >= 1)) {
    throw invalidOption(
      'concurrency.algorithm',
      algorithm,
      'a LimitAlgorithm whose `limit` is a number >= 1',
    );
  }
  for (const key of BOUND_KEYS) {
    if (options[key] !== undefined) {
      throw invalidOption(
        `concurrency.${key}`,
        options[key],
        'no value when `concurrency.algorithm` is an object (set it on the algorithm)',
      );
    }
  }
  return algorithm as LimitAlgorithm;
}
