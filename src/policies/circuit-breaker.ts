/**
 * The circuit breaker: closed → open when `consecutiveFailures` calls in a row failed, the
 * window's failures reach `failureThreshold`, or `minimumCalls` calls saw a failure ratio ≥
 * `failureRatio`; open → half-open lazily, on the
 * first call after `openDuration` (no timer); half-open admits `halfOpenRequests` probes and
 * closes when all of them pass; a failed or released probe re-opens it for twice as long, up to
 * `maxOpenDuration`.
 *
 * The closed path allocates nothing: `tryAcquire()` returns the same frozen permit object for a
 * whole closed period, so outcomes from an earlier period (late results after a trip) are known
 * by identity and ignored, as Polly ignores late results. Probe permits are objects of their own,
 * tracked so a probe that never reports cannot hold the circuit half-open for ever (HTTPower's
 * stuck-half-open bug): the HTTP glue `release()`s it on its attempt timeout, and a probe with no
 * verdict after the current open duration frees its slot anyway (Polly's re-permit).
 */
import { BulwarkError, bulwarkError, isAbortError, traitsOf } from '../errors.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from './policy.js';
import { CountWindow, TimeWindow, type HealthWindow } from './breaker-window.js';
import {
  resolveBreakerOptions,
  type CircuitBreakerOptions,
  type ResolvedBreakerOptions,
} from './breaker-options.js';

import type {
  CircuitChangeReason,
  CircuitState,
  CircuitStateChange,
  CircuitStateName,
} from './circuit-state.js';

export type { BreakerWindow, CircuitBreakerOptions } from './breaker-options.js';
export type { CircuitChangeReason, CircuitState, CircuitStateChange, CircuitStateName };

/** Admission: send the call, then report it with exactly one of `onSuccess/onFailure/onIgnore/release`. */
export interface CircuitPermit {
  readonly allowed: true;
}

/** Refusal: the circuit is open. `retryAfterMs` is `Infinity` while isolated. */
export interface CircuitRejection {
  readonly allowed: false;
  readonly retryAfterMs: number;
}

/** The answer of {@link CircuitBreaker.tryAcquire}. */
export type CircuitDecision = CircuitPermit | CircuitRejection;

/** A circuit as `client.inspect()` shows it. */
export interface CircuitSnapshot {
  readonly key: string;
  /** What the next call would see (an elapsed open period shows as `half-open`). */
  readonly state: CircuitStateName;
  /** Failures in the window. */
  readonly failures: number;
  /** Calls in the window. */
  readonly calls: number;
  /** Clock ms when the open period ends; only while open. */
  readonly openUntil?: number;
}

/** What `execute` learns from one call, for `isFailure`. */
export type CallOutcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

/** Per-call options of {@link CircuitBreaker.execute}: the contract's, and how to judge this call. */
export interface CircuitExecuteOptions<T> extends ExecuteOptions {
  /**
   * Whether this call's outcome is a failure of the dependency (a value can be one: a 503).
   * @default every error is a failure, every value a success
   */
  readonly isFailure?: ((outcome: CallOutcome<T>) => boolean) | undefined;
}

/** How long a streak of failures must last before it trips the circuit, ms. */
export const STREAK_MS = 100;

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const NAMES = ['closed', 'open', 'half-open', 'isolated'] as const;

class ProbePermit implements CircuitPermit {
  readonly allowed = true;
  readonly startedAt: number;
  constructor(startedAt: number) {
    this.startedAt = startedAt;
  }
}

const freshPermit = (): CircuitPermit => Object.freeze({ allowed: true });
// Stands for "no closed period is current": never handed out, so nothing matches it.
const NO_PERMIT = freshPermit();
// Frozen, so a push onto it (a bug) throws instead of sharing probes between breakers.
const NO_PROBES: ProbePermit[] = Object.freeze([]) as unknown as ProbePermit[];
// Every breaker's first closed period: a breaker that never trips holds no permit of its own.
const FIRST_PERMIT = freshPermit();
// What `state` says of every closed breaker: read by each idle sweep, so it allocates nothing.
const CLOSED_STATE: CircuitState = Object.freeze({ state: 'closed' });
const ISOLATED_REJECTION: CircuitRejection = Object.freeze({
  allowed: false,
  retryAfterMs: Number.POSITIVE_INFINITY,
});

/** The `CIRCUIT_OPEN` error, for `execute` and for the HTTP glue. */
export function circuitOpenError(key: string, retryAfterMs: number): BulwarkError {
  const when = Number.isFinite(retryAfterMs) ? `retry in ${retryAfterMs} ms` : 'isolated until reset';
  return bulwarkError('CIRCUIT_OPEN', `Circuit "${key}" is open: ${when}.`, { key, retryAfterMs });
}

/**
 * A circuit breaker for one key (per origin in the client). Usable around any async function
 * with {@link execute}, or step by step on the hot path.
 * @example
 * const breaker = new CircuitBreaker({ key: 'https://api.example.com' });
 * const permit = breaker.tryAcquire();
 * if (!permit.allowed) throw circuitOpenError(breaker.key, permit.retryAfterMs);
 * try { const res = await send(); res.status >= 500 ? breaker.onFailure(permit) : breaker.onSuccess(permit); }
 * catch (error) { breaker.onFailure(permit); throw error; }
 */
export class CircuitBreaker implements Policy {
  /** The key in events, snapshots and errors. */
  readonly key: string;
  // The clock, the window's kind and every option: one object shared by all the breakers of a
  // CircuitBreakers, so a key costs its own state only (see docs/load-protection.md).
  readonly #options: ResolvedBreakerOptions;
  readonly #window: HealthWindow;
  #state: 0 | 1 | 2 | 3 = CLOSED;
  #closedPermit: CircuitPermit = FIRST_PERMIT;
  // Clock ms. Closed: when the current streak of failures began. Open: when the open period ends.
  // One field for both (no state needs the two), so once a breaker has tripped, a new breaker
  // boxes one double, not two.
  #at = 0;
  #openMs: number;
  // An array of its own only while half-open: a closed breaker holds the shared empty one.
  #probes: ProbePermit[] = NO_PROBES;
  #passed = 0;
  // Failures in a row since the last success of this closed period (the streak rule).
  #streak = 0;

  /**
   * @param shared Options already resolved for many breakers (what {@link CircuitBreakers} passes,
   *   so a thousand keys share one object, clock included); `options` then gives only `key`.
   * @throws BulwarkError `INVALID_OPTIONS` naming `circuitBreaker.<option>`.
   */
  constructor(options: CircuitBreakerOptions = {}, shared?: ResolvedBreakerOptions) {
    this.#options = shared ?? resolveBreakerOptions(options);
    this.key = shared === undefined ? this.#options.key : (options.key ?? shared.key);
    const window = this.#options.window;
    this.#window =
      'calls' in window
        ? new CountWindow(window.calls)
        : new TimeWindow(window.ms, window.buckets, this.#options.clock.now());
    this.#openMs = this.#options.openDuration;
  }

  /** The state right now (an elapsed open period shows as `half-open` with no probe). */
  get state(): CircuitState {
    switch (this.#state) {
      case CLOSED:
        return CLOSED_STATE;
      case OPEN:
        return this.#options.clock.now() < this.#at
          ? { state: 'open', until: this.#at }
          : { state: 'half-open', probes: 0 };
      case HALF_OPEN:
        return { state: 'half-open', probes: this.#probes.length };
      default:
        return { state: 'isolated' };
    }
  }

  /**
   * Since when the breaker has waited for a probe (the end of its open period), or infinity when
   * it is not waiting for one (closed, open, isolated, a probe in flight).
   */
  probeReadySince(): number {
    if (this.#state === OPEN)
      return this.#at <= this.#options.clock.now() ? this.#at : Number.POSITIVE_INFINITY;
    if (this.#state === HALF_OPEN && this.#probes.length === 0) return this.#at;
    return Number.POSITIVE_INFINITY;
  }

  /** Asks to send one call. Closed: a shared permit, no allocation, no clock read. */
  tryAcquire(): CircuitDecision {
    if (this.#state === CLOSED) return this.#closedPermit;
    return this.#acquireSlow(this.#options.clock.now());
  }

  /** The call went well. */
  onSuccess(permit: CircuitPermit): void {
    if (permit === this.#closedPermit) {
      this.#streak = 0;
      this.#window.record(false, this.#options.timed ? this.#options.clock.now() : 0);
      return;
    }
    const index = this.#probeIndex(permit);
    if (index < 0) return;
    this.#probes.splice(index, 1);
    this.#passed++;
    if (this.#passed >= this.#options.halfOpenRequests) {
      this.#openMs = this.#options.openDuration;
      this.#close(this.#options.clock.now(), 'probes-passed');
    }
  }

  /** The call failed (network error, timeout, a 5xx other than 503, or whatever `isFailure` says). */
  onFailure(permit: CircuitPermit): void {
    this.#fail(permit, 'probe-failed');
  }

  /** The call ended without telling anything about the dependency (the caller aborted): not counted. */
  onIgnore(permit: CircuitPermit): void {
    const index = this.#probeIndex(permit);
    if (index >= 0) this.#probes.splice(index, 1);
  }

  /** The call was abandoned without an outcome (its attempt timed out): counts as a failure. */
  release(permit: CircuitPermit): void {
    this.#fail(permit, 'probe-released');
  }

  /** Opens the circuit until {@link reset}, whatever the calls say. */
  isolate(): void {
    if (this.#state === ISOLATED) return;
    this.#closedPermit = NO_PERMIT;
    this.#probes = NO_PROBES;
    this.#transition(ISOLATED, 'isolated', this.#options.clock.now());
  }

  /** Closes the circuit with an empty window and the base open duration. */
  reset(): void {
    this.#openMs = this.#options.openDuration;
    this.#close(this.#options.clock.now(), 'reset');
  }

  /** For `client.inspect()`. */
  snapshot(): CircuitSnapshot {
    const now = this.#options.clock.now();
    this.#window.read(now);
    const { calls, failures } = this.#window;
    const name = this.#state === OPEN && now >= this.#at ? 'half-open' : NAMES[this.#state];
    const base = { key: this.key, state: name, failures, calls };
    return name === 'open' ? { ...base, openUntil: this.#at } : base;
  }

  /**
   * Runs `fn` through the breaker, under the contract of {@link ExecuteOptions} (`key` is ignored:
   * this breaker has its own; {@link CircuitBreakers} picks one by key). Rejects with
   * `CIRCUIT_OPEN` (`key`, `retryAfterMs`) without calling `fn` when open. A thrown error is a
   * failure and a value a success unless `isFailure` says otherwise; the call is not counted when
   * it was ended from outside (an abort, the deadline) or by another policy's refusal (an error
   * whose code is a rejection in `ERROR_TRAITS`, such as `RATE_LIMITED` from a limiter inside).
   * @example
   * const user = await breaker.execute(({ signal }) => loadUser(id, { signal }), { signal });
   */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: CircuitExecuteOptions<T>): Promise<T> {
    return guarded(this.#options.clock, options, (ctx) => this.#run(fn, ctx, options?.isFailure));
  }

  async #run<T>(
    fn: (ctx: PolicyContext) => T | PromiseLike<T>,
    ctx: PolicyContext,
    isFailure: ((outcome: CallOutcome<T>) => boolean) | undefined,
  ): Promise<T> {
    const permit = this.tryAcquire();
    if (!permit.allowed) throw circuitOpenError(this.key, permit.retryAfterMs);
    let value: T;
    try {
      value = await fn(ctx);
    } catch (error) {
      const traits = traitsOf(error);
      if (ctx.signal.aborted || isAbortError(error) || traits?.rejection === true) this.onIgnore(permit);
      else if (isFailure === undefined || isFailure({ ok: false, error })) this.onFailure(permit);
      else this.onSuccess(permit);
      throw error;
    }
    if (isFailure?.({ ok: true, value }) === true) this.onFailure(permit);
    else this.onSuccess(permit);
    return value;
  }

  #acquireSlow(now: number): CircuitDecision {
    if (this.#state === OPEN) {
      if (now < this.#at) return { allowed: false, retryAfterMs: Math.ceil(this.#at - now) };
      this.#probes = [];
      this.#passed = 0;
      this.#transition(HALF_OPEN, 'open-elapsed', now);
      // Ask again: a listener may have reset or isolated the circuit.
      return this.tryAcquire();
    }
    return this.#state === HALF_OPEN ? this.#admitProbe(now) : ISOLATED_REJECTION;
  }

  #admitProbe(now: number): CircuitDecision {
    const probes = this.#probes;
    let oldest = probes[0];
    while (oldest !== undefined && now >= oldest.startedAt + this.#openMs) {
      probes.shift();
      oldest = probes[0];
    }
    if (oldest === undefined || probes.length + this.#passed < this.#options.halfOpenRequests) {
      const probe = new ProbePermit(now);
      probes.push(probe);
      return probe;
    }
    // Another probe may go when the oldest one's verdict is overdue.
    return { allowed: false, retryAfterMs: Math.ceil(oldest.startedAt + this.#openMs - now) };
  }

  #fail(permit: CircuitPermit, probeReason: 'probe-failed' | 'probe-released'): void {
    if (permit === this.#closedPermit) {
      const now = this.#options.clock.now();
      const window = this.#window;
      window.record(true, now);
      if (this.#streak++ === 0) this.#at = now;
      const { consecutiveFailures, failureThreshold, failureRatio, minimumCalls } = this.#options;
      // The streak sees a sudden total failure at once, whatever the window holds: a ratio over a
      // window full of earlier successes would need as many failures as it holds successes. It
      // must last STREAK_MS too: one connection reset fails every request in flight on it at the
      // same instant, and their retries on fresh connections succeed.
      if (
        consecutiveFailures !== undefined &&
        this.#streak >= consecutiveFailures &&
        now - this.#at >= STREAK_MS
      ) {
        this.#open(now, 'consecutive-failures');
      } else if (failureThreshold !== undefined && window.failures >= failureThreshold) {
        this.#open(now, 'failure-threshold');
      } else if (
        failureRatio !== undefined &&
        window.calls >= minimumCalls &&
        window.failures / window.calls >= failureRatio
      ) {
        this.#open(now, 'failure-ratio');
      }
      return;
    }
    if (this.#probeIndex(permit) < 0) return;
    this.#openMs = Math.min(this.#openMs * 2, this.#options.maxOpenDuration);
    this.#open(this.#options.clock.now(), probeReason);
  }

  #probeIndex(permit: CircuitPermit): number {
    return this.#state === HALF_OPEN && permit instanceof ProbePermit ? this.#probes.indexOf(permit) : -1;
  }

  #open(now: number, reason: CircuitChangeReason): void {
    this.#closedPermit = NO_PERMIT;
    this.#probes = NO_PROBES;
    this.#at = now + this.#openMs;
    const { failures, calls } = this.#window;
    const from = this.#state;
    this.#state = OPEN;
    this.#options.onStateChange?.({
      key: this.key,
      from: NAMES[from],
      to: 'open',
      reason,
      at: now,
      ...(reason === 'failure-threshold' || reason === 'failure-ratio' || reason === 'consecutive-failures'
        ? { failureRatio: calls > 0 ? failures / calls : 0 }
        : {}),
      openMs: this.#openMs,
    });
  }

  #close(now: number, reason: CircuitChangeReason): void {
    this.#window.reset(now);
    this.#streak = 0;
    this.#probes = NO_PROBES;
    this.#passed = 0;
    if (this.#state === CLOSED) return;
    this.#closedPermit = freshPermit();
    this.#transition(CLOSED, reason, now);
  }

  #transition(to: 0 | 1 | 2 | 3, reason: CircuitChangeReason, now: number): void {
    const from = this.#state;
    this.#state = to;
    this.#options.onStateChange?.({ key: this.key, from: NAMES[from], to: NAMES[to], reason, at: now });
  }
}
