/**
 * Circuit breakers by key (per origin in the client; the caller chooses the key). A breaker is
 * created on first use and evicted once it has been closed and unused for `idleTimeout`: a closed
 * breaker nobody asked for is as good as a new one, so thousands of one-off keys cannot grow the
 * map for ever. Open, half-open and isolated breakers are never evicted.
 */
import { systemClock, type Clock } from '../clock.js';
import { invalidOption, invalidRequest } from '../errors.js';
import { requireInteger } from '../validate.js';
import { CircuitBreaker, type CircuitExecuteOptions, type CircuitSnapshot } from './circuit-breaker.js';
import type { Policy, PolicyContext } from './policy.js';
import {
  resolveBreakerOptions,
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
} from './breaker-options.js';

/** Options of {@link CircuitBreakers}: every breaker's options (without `key`) plus eviction. */
export interface CircuitBreakersOptions extends Omit<CircuitBreakerOptions, 'key'> {
  /**
   * A closed breaker not asked for during this long (ms) is dropped; it goes between one and two
   * `idleTimeout`s after its last use.
   * @default 300_000
   */
  readonly idleTimeout?: number;
}

interface Entry {
  readonly breaker: CircuitBreaker;
  used: boolean;
}

// How many `get` calls between two looks at the clock for a sweep.
const CHECK_EVERY = 64;

/**
 * A registry of {@link CircuitBreaker}s sharing one configuration.
 * @example
 * const breakers = new CircuitBreakers({ failureRatio: 0.5 });
 * const permit = breakers.get(origin).tryAcquire();
 */
export class CircuitBreakers implements Policy {
  readonly #options: ResolvedBreakerOptions;
  readonly #clock: Clock;
  readonly #idleTimeout: number;
  readonly #entries = new Map<string, Entry>();
  #gets = 0;
  #nextSweep: number;

  /** @throws BulwarkError `INVALID_OPTIONS` naming `circuitBreaker.<option>`. */
  constructor(options: CircuitBreakersOptions = {}) {
    const { idleTimeout = 300_000, ...breakerOptions } = options;
    requireInteger(
      'options',
      'circuitBreaker.idleTimeout',
      idleTimeout,
      1,
      Number.POSITIVE_INFINITY,
      'a positive integer of milliseconds',
    );
    if ('key' in breakerOptions) {
      throw invalidOption(
        'circuitBreaker.key',
        (breakerOptions as { key: unknown }).key,
        'no key here: get(key) names each breaker',
      );
    }
    // Fails at construction, not on the first request; one resolved object serves every key.
    this.#options = resolveBreakerOptions(breakerOptions);
    this.#clock = options.clock ?? systemClock;
    this.#idleTimeout = idleTimeout;
    this.#nextSweep = this.#clock.now() + idleTimeout;
  }

  /** The breaker of `key`, created on first use. */
  get(key: string): CircuitBreaker {
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { breaker: new CircuitBreaker({ key, clock: this.#clock }, this.#options), used: true };
      this.#entries.set(key, entry);
      this.#maybeSweep();
    } else {
      entry.used = true;
      if (++this.#gets % CHECK_EVERY === 0) this.#maybeSweep();
    }
    return entry.breaker;
  }

  /**
   * Runs `fn` through the breaker of `options.key` (`'default'` without one), as
   * {@link CircuitBreaker.execute} does: one circuit per key, so one failing tenant or origin
   * opens its own circuit only.
   * @example
   * await breakers.execute(({ signal }) => fetchTenant(id, { signal }), { key: `tenant:${id}` });
   */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: CircuitExecuteOptions<T>): Promise<T> {
    const key = options?.key ?? 'default';
    if (typeof key !== 'string') return Promise.reject(invalidRequest('key', key, 'a string'));
    return this.get(key).execute(fn, options);
  }

  /** The breaker of `key` if it exists, without creating it or marking it used. */
  peek(key: string): CircuitBreaker | undefined {
    return this.#entries.get(key)?.breaker;
  }

  /** Number of breakers held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Every breaker, for `client.inspect()`. */
  snapshot(): CircuitSnapshot[] {
    return Array.from(this.#entries.values(), (entry) => entry.breaker.snapshot());
  }

  /**
   * One sweep, as the automatic one every `idleTimeout`: drops the closed breakers not used since
   * the previous sweep and marks the others unused. Returns how many went.
   */
  prune(): number {
    let removed = 0;
    for (const [key, entry] of this.#entries) {
      if (entry.used) entry.used = false;
      else if (entry.breaker.state.state === 'closed') {
        this.#entries.delete(key);
        removed++;
      }
    }
    this.#nextSweep = this.#clock.now() + this.#idleTimeout;
    return removed;
  }

  #maybeSweep(): void {
    if (this.#clock.now() >= this.#nextSweep) this.prune();
  }
}
