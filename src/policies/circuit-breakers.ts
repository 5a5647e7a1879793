/**
 * Circuit breakers by key (per origin in the client; the caller chooses the key). A breaker is
 * created on first use and dropped once it has been closed and unused for `idleTimeout`, by a
 * background sweep that needs no later call: a closed breaker nobody asked for is as good as a
 * new one, so thousands of one-off keys cannot grow the map for ever. Open, half-open and
 * isolated breakers are never dropped.
 */
import { MAX_TIMER_MS } from '../clock.js';
import { invalidOption, invalidRequest } from '../errors.js';
import { requireInteger } from '../validate.js';
import { CircuitBreaker, type CircuitExecuteOptions, type CircuitSnapshot } from './circuit-breaker.js';
import type { Policy, PolicyContext } from './policy.js';
import {
  resolveBreakerOptions,
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
} from './breaker-options.js';
import { Housekeeping } from './housekeeping.js';

/** Options of {@link CircuitBreakers}: every breaker's options (without `key`) plus eviction. */
export interface CircuitBreakersOptions extends Omit<CircuitBreakerOptions, 'key'> {
  /**
   * A closed breaker not asked for during this long (ms) is dropped, with no later call needed:
   * between one and 1.25 `idleTimeout`s after its last use (a sweep runs every quarter of it on an
   * unref'd timer of the clock, only while breakers are held).
   * @default 300_000
   */
  readonly idleTimeout?: number;
}

// Sweeps per idleTimeout: a breaker goes at most a quarter of it late, and each sweep walks the map.
const SWEEPS_PER_IDLE = 4;

// The breaker with the sweep's mark: no wrapper object per key, 40 bytes saved.
class KeyedBreaker extends CircuitBreaker {
  /** The registry's sweep count when this breaker was last asked for. */
  seen = 0;
}

/**
 * A registry of {@link CircuitBreaker}s sharing one configuration.
 * @example
 * const breakers = new CircuitBreakers({ failureRatio: 0.5 });
 * const permit = breakers.get(origin).tryAcquire();
 */
export class CircuitBreakers implements Policy {
  readonly #options: ResolvedBreakerOptions;
  readonly #breakers = new Map<string, KeyedBreaker>();
  readonly #housekeeping: Housekeeping;
  /** Time between two sweeps, ms. */
  readonly #sweepMs: number;
  /** Sweeps a breaker must miss to have been idle for `idleTimeout`. */
  readonly #idleSweeps: number;
  /** Sweeps so far. */
  #sweeps = 0;
  readonly #idleMs: number;

  /**
   * @param resolved the breakers' options already resolved by a caller that checked their names
   *   (the client's `circuitBreaker`, through `resolveBreakerValues`, its `clock` set); `options`
   *   then brings only `idleTimeout`.
   * @throws BulwarkError `INVALID_OPTIONS` naming `circuitBreaker.<option>`.
   */
  constructor(options: CircuitBreakersOptions = {}, resolved?: ResolvedBreakerOptions) {
    const { idleTimeout = 300_000, ...breakerOptions } = options;
    requireInteger(
      'options',
      'circuitBreaker.idleTimeout',
      idleTimeout,
      1,
      Number.POSITIVE_INFINITY,
      'a positive integer of milliseconds',
    );
    if (resolved === undefined && 'key' in breakerOptions) {
      throw invalidOption(
        'circuitBreaker.key',
        (breakerOptions as { key: unknown }).key,
        'no key here: get(key) names each breaker',
      );
    }
    // Fails at construction, not on the first request; one resolved object serves every key.
    this.#options = resolved ?? resolveBreakerOptions(breakerOptions);
    this.#idleMs = idleTimeout;
    this.#sweepMs = Math.min(Math.ceil(idleTimeout / SWEEPS_PER_IDLE), MAX_TIMER_MS);
    this.#idleSweeps = Math.ceil(idleTimeout / this.#sweepMs);
    this.#housekeeping = new Housekeeping(this.#options.clock, (now) => {
      this.prune();
      return this.#breakers.size > 0 ? now + this.#sweepMs : undefined;
    });
  }

  /** The breaker of `key`, created on first use. */
  get(key: string): CircuitBreaker {
    let breaker = this.#breakers.get(key);
    if (breaker === undefined) {
      breaker = new KeyedBreaker({ key }, this.#options);
      this.#breakers.set(key, breaker);
      if (!this.#housekeeping.armed) {
        const now = this.#options.clock.now();
        this.#housekeeping.schedule(now + this.#sweepMs, now);
      }
    }
    breaker.seen = this.#sweeps;
    return breaker;
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
    return this.#breakers.get(key);
  }

  /** Number of breakers held. */
  get size(): number {
    return this.#breakers.size;
  }

  /** Every breaker, for `client.inspect()`. */
  snapshot(): CircuitSnapshot[] {
    return Array.from(this.#breakers.values(), (breaker) => breaker.snapshot());
  }

  /**
   * One sweep, as the automatic one every quarter `idleTimeout`: drops the closed breakers not
   * asked for during the last `idleTimeout` worth of sweeps, and returns how many went. Each call
   * counts as a sweep, so calling it between the automatic ones makes breakers go sooner.
   */
  prune(): number {
    const sweep = ++this.#sweeps;
    const now = this.#options.clock.now();
    let removed = 0;
    for (const [key, breaker] of this.#breakers) {
      if (sweep - breaker.seen > this.#idleSweeps && this.#idle(breaker, now)) {
        this.#breakers.delete(key);
        removed++;
      }
    }
    return removed;
  }

  /**
   * Whether a breaker nobody asked for during `idleTimeout` holds nothing worth keeping: closed,
   * or waiting for a probe that nobody came to send for `idleTimeout` after its open period ended
   * (a tenant that tripped in an outage and never called again). Open, isolated and a probe in
   * flight stay.
   */
  #idle(breaker: CircuitBreaker, now: number): boolean {
    const state = breaker.state;
    if (state.state === 'closed') return true;
    if (state.state !== 'half-open' || state.probes > 0) return false;
    return breaker.probeReadySince() + this.#idleMs <= now;
  }

  /** Stops the sweep's timer (the client's `close()`); the breakers stay readable. */
  close(): void {
    this.#housekeeping.close();
  }
}
