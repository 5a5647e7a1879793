/**
 * The rate-limit policy: `requests` per `per` with a `burst`, GCRA in a {@link RateLimitStore}
 * (in process by default, Redis for a global limit). A free slot costs one synchronous store call
 * and no promise; a slot further away is reserved and waited for (`strategy: 'wait'`, up to
 * `maxWait` and never past the caller's deadline) or refused with `RATE_LIMITED`.
 */
import { systemClock, type Clock } from '../clock.js';
import { BulwarkError, bulwarkError, invalidOption, invalidRequest } from '../errors.js';
import { MemoryStore } from './memory-store.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from './policy.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  isNonNegative,
  noSuchOption,
  requireFinite,
  requireInteger,
} from '../validate.js';
import {
  isPromiseLike,
  isRateLimitStore,
  type GcraParams,
  type InspectableRateLimitStore,
  type RateLimitDecision,
  type RateLimitStore,
} from './store-contract.js';

/** The period of a rate, by name or in milliseconds. */
export type RatePeriod = 'second' | 'minute' | 'hour' | number;

/** What the limiter does when no slot is free now. */
export type RateLimitStrategy = 'wait' | 'error';

/** A wait, a refusal or a failed hold, for metrics and the `bulwark:rate-limit` channel. */
export type RateLimitEvent =
  | { readonly type: 'wait'; readonly key: string; readonly waitMs: number }
  | { readonly type: 'rejected'; readonly key: string; readonly retryAfterMs: number }
  /**
   * The store failed: on a decision, which a fallback store then made by `onStoreError` (`fallback`
   * set); or on `hold()` (the hint is lost; the limit itself still holds).
   */
  | {
      readonly type: 'store-error';
      readonly key: string;
      readonly error: unknown;
      readonly fallback?: 'local' | 'open' | 'closed';
    };

/** Options of {@link RateLimiter} (the client's `rateLimit` option). */
export interface RateLimiterOptions {
  /** Requests allowed per `per` at the steady rate (a positive integer). */
  readonly requests: number;
  /** The period of `requests`: a name or milliseconds. */
  readonly per: RatePeriod;
  /**
   * Requests that may go at once after a quiet period (a positive integer).
   * @default requests
   */
  readonly burst?: number;
  /**
   * `'wait'` reserves the next slot and waits for it (up to `maxWait`); `'error'` refuses at once.
   * @default 'wait'
   */
  readonly strategy?: RateLimitStrategy;
  /**
   * The longest wait for a slot, ms (`strategy: 'wait'`). A slot further away is refused.
   * @default 5_000
   */
  readonly maxWait?: number;
  /**
   * Where buckets live. A store that answers with promises (Redis) works the same way.
   * @default new MemoryStore({ clock })
   */
  readonly store?: RateLimitStore;
  /**
   * Source of time for deadlines and waits (and for the default store).
   * @default systemClock
   */
  readonly clock?: Clock;
  /** Told of every wait, refusal and failed hold. Must not throw. */
  readonly onEvent?: (event: RateLimitEvent) => void;
}

/** Per-call options of {@link RateLimiter.acquire}. */
export interface AcquireOptions {
  /** The caller's signal: a wait ends with its `reason` when it aborts. */
  readonly signal?: AbortSignal | undefined;
  /** Absolute deadline, epoch ms (clock time): a wait that would end after it is refused up front. */
  readonly deadline?: number | undefined;
  /**
   * Tokens to take (a positive integer; more than `burst` waits for the debt).
   * @default 1
   */
  readonly cost?: number | undefined;
  /**
   * This call's strategy (a background job may wait where an interactive call fails fast).
   * @default the limiter's
   */
  readonly strategy?: RateLimitStrategy | undefined;
  /**
   * This call's longest wait, ms; implies `strategy: 'wait'`.
   * @default the limiter's `maxWait`
   */
  readonly maxWait?: number | undefined;
  /**
   * Told, with the wait in ms, when this call must wait for its slot (before the wait starts).
   * With a store that answers through promises (Redis) the returned promise alone cannot say
   * whether the call waited or only asked.
   */
  readonly onWait?: ((waitMs: number) => void) | undefined;
}

/** Per-call options of {@link RateLimiter.execute}: the contract's, and the call's cost. */
export interface RateLimitExecuteOptions extends ExecuteOptions {
  /**
   * Tokens this call takes (a positive integer).
   * @default 1
   */
  readonly cost?: number | undefined;
}

/** A bucket as inspect shows it. */
export interface RateLimitKeySnapshot {
  readonly key: string;
  /** Requests that could go now. */
  readonly tokens: number;
  /** Milliseconds until the next token frees; 0 when `tokens` > 0. */
  readonly nextFreeMs: number;
}

/** The limiter as `client.inspect()` shows it. */
export interface RateLimiterSnapshot {
  readonly requests: number;
  readonly perMs: number;
  readonly burst: number;
  readonly strategy: RateLimitStrategy;
  readonly maxWaitMs: number;
  /** Buckets that are not full (keys absent here are full). Empty when the store cannot list. */
  readonly keys: readonly RateLimitKeySnapshot[];
}

const PERIODS = { second: 1_000, minute: 60_000, hour: 3_600_000 } as const;
/** The option names of {@link RateLimiterOptions} (the client's `rateLimit` reuses them). */
export const RATE_LIMIT_OPTION_KEYS = [
  'requests',
  'per',
  'burst',
  'strategy',
  'maxWait',
  'store',
  'clock',
  'onEvent',
] as const satisfies readonly (keyof RateLimiterOptions)[];
/** The longest timer Node accepts: a larger delay would silently fire after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * The longest a server's hint holds a bucket, unless the limit's own window is longer: a
 * `Retry-After` of a year (a bug or a hostile upstream) must not stop every call, and through a
 * shared store the whole fleet, for a year. Past it, one call goes through and asks again.
 */
export const MAX_HOLD_MS = 3_600_000;
const MAX_REQUESTS = 1_000_000_000;
const MAX_WAIT_ALLOWED = `milliseconds from 0 to ${MAX_TIMER_MS}`;

function resolvePeriod(per: unknown): number {
  if (per === 'second' || per === 'minute' || per === 'hour') return PERIODS[per];
  if (typeof per === 'number' && Number.isFinite(per) && per >= 1 && per <= MAX_TIMER_MS) return per;
  throw invalidOption(
    'rateLimit.per',
    per,
    `'second', 'minute', 'hour' or milliseconds from 1 to ${MAX_TIMER_MS}`,
  );
}

function validate(options: RateLimiterOptions): void {
  if (typeof options !== 'object' || (options as unknown) === null) {
    throw invalidOption('rateLimit', options, 'an object like { requests: 100, per: "second" }');
  }
  const record = options as unknown as Record<string, unknown>;
  checkKeys('options', 'rateLimit', record, RATE_LIMIT_OPTION_KEYS, noSuchOption);
  const { strategy, maxWait, store, clock, onEvent } = record as Partial<Record<string, unknown>>;
  if (strategy !== undefined && strategy !== 'wait' && strategy !== 'error') {
    throw invalidOption('rateLimit.strategy', strategy, "'wait' or 'error'");
  }
  checkNumber('options', 'rateLimit.maxWait', maxWait, 0, MAX_TIMER_MS, false, MAX_WAIT_ALLOWED);
  if (store !== undefined && !isRateLimitStore(store)) {
    throw invalidOption('rateLimit.store', store, 'a RateLimitStore (take and hold methods)');
  }
  if (
    clock !== undefined &&
    (typeof clock !== 'object' || typeof (clock as Partial<Clock> | null)?.now !== 'function')
  ) {
    throw invalidOption('rateLimit.clock', clock, 'a Clock');
  }
  checkFunction('options', 'rateLimit.onEvent', onEvent);
}

function isInspectable(store: RateLimitStore): store is InspectableRateLimitStore {
  return typeof (store as Partial<InspectableRateLimitStore>).buckets === 'function';
}

/**
 * A GCRA rate limiter over a store, keyed by the caller (per origin in the client).
 * @example
 * const limiter = new RateLimiter({ requests: 5000, per: 'hour' });
 * const wait = limiter.acquire('api.github.com', { signal });
 * if (wait !== undefined) await wait; // only when the slot is in the future
 */
export class RateLimiter implements Policy {
  /** The bucket parameters every key uses. */
  readonly params: GcraParams;
  readonly #requests: number;
  readonly #perMs: number;
  readonly #strategy: RateLimitStrategy;
  readonly #maxWaitMs: number;
  /** `maxWait` as configured, for a call that asks for `strategy: 'wait'` on an `'error'` limiter. */
  readonly #waitLimitMs: number;
  readonly #store: RateLimitStore;
  /** The default store, which this limiter made and so closes; a store passed in is the caller's. */
  readonly #ownStore: MemoryStore | undefined;
  readonly #clock: Clock;
  readonly #onEvent: ((event: RateLimitEvent) => void) | undefined;

  /** @throws BulwarkError `INVALID_OPTIONS` naming `rateLimit.<option>`. */
  constructor(options: RateLimiterOptions) {
    validate(options);
    this.#requests = requireInteger('options', 'rateLimit.requests', options.requests, 1, MAX_REQUESTS);
    this.#perMs = resolvePeriod(options.per);
    const burst =
      checkNumber('options', 'rateLimit.burst', options.burst, 1, MAX_REQUESTS, true) ?? this.#requests;
    this.params = Object.freeze({ emissionIntervalMs: this.#perMs / this.#requests, burst });
    this.#strategy = options.strategy ?? 'wait';
    this.#waitLimitMs = options.maxWait ?? 5_000;
    this.#maxWaitMs = this.#strategy === 'error' ? 0 : this.#waitLimitMs;
    this.#clock = options.clock ?? systemClock;
    this.#ownStore = options.store === undefined ? new MemoryStore({ clock: this.#clock }) : undefined;
    this.#store = this.#ownStore ?? (options.store as RateLimitStore);
    this.#onEvent = options.onEvent;
  }

  /**
   * Takes a slot on `key`. Returns `undefined` when the slot is free now (the common case: no
   * promise is allocated), otherwise a promise that resolves when the reserved slot is due, or
   * rejects with `RATE_LIMITED` (`key`, `retryAfterMs`) when no slot is free within `maxWait` or
   * before the deadline, or with `signal.reason` when the caller aborts (the reserved slot is then
   * given back when the store can, as the memory store can while no later caller reserved after
   * it). Never throws synchronously.
   * @example const wait = limiter.acquire(key); if (wait) await wait;
   */
  acquire(key: string, options?: AcquireOptions): Promise<void> | undefined {
    const signal = options?.signal;
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    let limitMs = this.#maxWaitMs;
    let strategy = this.#strategy;
    if (options?.strategy !== undefined || options?.maxWait !== undefined) {
      const own = this.#callLimit(options.strategy, options.maxWait);
      if (typeof own !== 'number') return Promise.reject(own);
      limitMs = own;
      strategy = options.strategy ?? 'wait';
    }
    let maxWaitMs = limitMs;
    const deadline = options?.deadline;
    if (deadline !== undefined) {
      const left = deadline - this.#clock.now();
      if (left < maxWaitMs) maxWaitMs = left > 0 ? left : 0;
    }
    const cost = options?.cost ?? 1;
    if (cost !== 1 && !(Number.isInteger(cost) && cost >= 1 && cost <= MAX_REQUESTS)) {
      return Promise.reject(invalidRequest('rateLimit.cost', cost, `an integer from 1 to ${MAX_REQUESTS}`));
    }
    let decision: RateLimitDecision | PromiseLike<RateLimitDecision>;
    try {
      decision = this.#store.take({ key, params: this.params, maxWaitMs, cost, deadline });
    } catch (error) {
      // A store that throws instead of rejecting still fails the call through the promise.
      return Promise.reject(error instanceof Error ? error : new Error(String(error), { cause: error }));
    }
    if (isPromiseLike(decision)) {
      const onWait = options?.onWait;
      return Promise.resolve(decision).then((d) =>
        this.#settle(key, d, maxWaitMs, limitMs, strategy, signal, onWait, cost),
      );
    }
    return this.#settle(key, decision, maxWaitMs, limitMs, strategy, signal, options?.onWait, cost);
  }

  /**
   * Takes a slot on the bucket of `options.key` (`'default'` without one), waiting for it when the
   * strategy says so, then runs `fn`, under the contract of {@link ExecuteOptions}: a wait that
   * would end after the deadline is refused up front (`RATE_LIMITED`), and aborting during the
   * wait ends it at once (`ABORTED`, its timer cleared) and gives its slot back (see {@link acquire}).
   * @example
   * const page = await limiter.execute(({ signal }) => crawl(url, { signal }), { key: host, signal });
   */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: RateLimitExecuteOptions): Promise<T> {
    return guarded(this.#clock, options, async (ctx) => {
      const deadline = ctx.deadline === Number.POSITIVE_INFINITY ? undefined : ctx.deadline;
      const cost = options?.cost;
      const wait = this.acquire(ctx.key ?? 'default', { signal: ctx.signal, deadline, cost });
      if (wait !== undefined) await wait;
      return fn(ctx);
    });
  }

  /** The longest wait of a call with its own `strategy` or `maxWait`, or the error that names the bad one. */
  #callLimit(strategy: unknown, maxWait: unknown): number | BulwarkError {
    if (strategy !== undefined && strategy !== 'wait' && strategy !== 'error') {
      return invalidRequest('rateLimit.strategy', strategy, "'wait' or 'error'");
    }
    if (maxWait === undefined) return strategy === 'error' ? 0 : this.#waitLimitMs;
    if (typeof maxWait !== 'number' || !(maxWait >= 0 && maxWait <= MAX_TIMER_MS)) {
      return invalidRequest('rateLimit.maxWait', maxWait, MAX_WAIT_ALLOWED);
    }
    if (strategy === 'error') {
      return invalidRequest(
        'rateLimit.maxWait',
        maxWait,
        "no maxWait with strategy 'error' (it never waits)",
      );
    }
    return maxWait;
  }

  /**
   * Takes nothing on `key` before `forMs` from now (a server's `Retry-After` or RateLimit reset),
   * bounded by the longer of {@link MAX_HOLD_MS} and the limit's window `per`.
   * Fire and forget: a store that fails is reported as a `store-error` event, never thrown.
   * @returns the hold applied, ms
   */
  hold(key: string, forMs: number): number {
    requireFinite(
      'options',
      'rateLimit.hold.forMs',
      forMs,
      isNonNegative,
      'a finite number of milliseconds, 0 or more',
    );
    const heldMs = Math.min(forMs, Math.max(MAX_HOLD_MS, this.#perMs));
    const report = (error: unknown): void => this.#onEvent?.({ type: 'store-error', key, error });
    try {
      const pending = this.#store.hold(key, this.params, heldMs);
      if (isPromiseLike(pending)) pending.then(undefined, report);
    } catch (error) {
      report(error);
    }
    return heldMs;
  }

  /**
   * Stops the background sweep of the limiter's own store (the default `MemoryStore`) and frees its
   * buckets; the client's `close()` calls it. A store passed as `store` is left to its owner.
   */
  close(): void {
    this.#ownStore?.close();
  }

  /** Gives an aborted wait's reservation back to the store, which keeps it when a later one was made. */
  #giveBack(key: string, cost: number, tat: number): void {
    const report = (error: unknown): void => this.#onEvent?.({ type: 'store-error', key, error });
    try {
      const pending = this.#store.release?.(key, this.params, cost, tat);
      if (pending !== undefined && isPromiseLike(pending)) pending.then(undefined, report);
    } catch (error) {
      report(error);
    }
  }

  /** For `client.inspect()`: the parameters and every bucket that is not full. */
  snapshot(): RateLimiterSnapshot {
    const store = this.#store;
    const keys = isInspectable(store)
      ? store.buckets(this.params).map((b) => ({ key: b.key, tokens: b.remaining, nextFreeMs: b.nextFreeMs }))
      : [];
    return {
      requests: this.#requests,
      perMs: this.#perMs,
      burst: this.params.burst,
      strategy: this.#strategy,
      maxWaitMs: this.#maxWaitMs,
      keys,
    };
  }

  #settle(
    key: string,
    decision: RateLimitDecision,
    maxWaitMs: number,
    limitMs: number,
    strategy: RateLimitStrategy,
    signal: AbortSignal | undefined,
    onWait: ((waitMs: number) => void) | undefined,
    cost: number,
  ): Promise<void> | undefined {
    const failed = decision.storeError;
    if (failed !== undefined) {
      this.#onEvent?.({ type: 'store-error', key, error: failed.error, fallback: failed.fallback });
    }
    if (decision.allowed) {
      if (decision.waitMs <= 0) return undefined;
      this.#onEvent?.({ type: 'wait', key, waitMs: decision.waitMs });
      onWait?.(decision.waitMs);
      const wait = this.#clock.sleep(decision.waitMs, signal);
      const tat = decision.tat;
      if (tat === undefined || this.#store.release === undefined) return wait;
      return wait.catch((reason: unknown) => {
        this.#giveBack(key, cost, tat);
        throw reason;
      });
    }
    const retryAfterMs = decision.retryAfterMs;
    this.#onEvent?.({ type: 'rejected', key, retryAfterMs });
    const why =
      maxWaitMs < limitMs
        ? 'the wait would end after the deadline'
        : strategy === 'error'
          ? "strategy is 'error'"
          : `the wait is longer than maxWait (${limitMs} ms)`;
    return Promise.reject(
      bulwarkError(
        'RATE_LIMITED',
        `Rate limit reached for "${key}": next slot in ${retryAfterMs} ms; ${why}.`,
        {
          key,
          retryAfterMs,
        },
      ),
    );
  }
}
