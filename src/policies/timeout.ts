/**
 * The timeout policy: `fn` gets a signal that aborts after `ms`, and the call rejects at that
 * moment whether or not `fn` stops. Inside a retry it bounds each attempt and rejects with
 * `ATTEMPT_TIMEOUT` (retried by default); outside one, the whole call, backoff included, with
 * `TIMEOUT`. Both carry `timeoutMs`.
 */
import { systemClock, type Clock } from '../clock.js';
import { requireFinite } from '../validate.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from './policy.js';

/** Options of {@link TimeoutPolicy}. */
export interface TimeoutPolicyOptions {
  /** @default systemClock */
  readonly clock?: Clock;
}

/** The longest timer Node accepts. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * A timeout around any async function. A deadline in the call's options that comes first wins
 * (`DEADLINE_EXCEEDED`); `fn` sees the earlier of the two as its `deadline`.
 * @example
 * const bounded = timeoutPolicy(2_000);
 * const report = await bounded.execute(({ signal }) => render(id, { signal }));
 */
export class TimeoutPolicy implements Policy {
  /** The timeout, ms. */
  readonly ms: number;
  readonly #clock: Clock;

  /** @throws BulwarkError `INVALID_OPTIONS` naming `timeout.ms` unless 1 to 2_147_483_647 ms. */
  constructor(ms: number, options: TimeoutPolicyOptions = {}) {
    this.ms = requireFinite(
      'options',
      'timeout.ms',
      ms,
      (n) => n >= 1 && n <= MAX_TIMER_MS,
      `milliseconds from 1 to ${MAX_TIMER_MS}`,
    );
    this.#clock = options.clock ?? systemClock;
  }

  /** Runs `fn` with the timeout, under the contract of {@link ExecuteOptions} (`key` is passed on). */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    return guarded(this.#clock, options, fn, this.ms);
  }
}

/**
 * Creates a {@link TimeoutPolicy}.
 * @example const perAttempt = timeoutPolicy(1_000);
 */
export function timeoutPolicy(ms: number, options?: TimeoutPolicyOptions): TimeoutPolicy {
  return new TimeoutPolicy(ms, options);
}
