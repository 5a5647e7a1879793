// ConcurrencyLimiter: hands out tokens up to an adaptive limit, queues the rest, and feeds samples back.
import type { Clock } from '../../clock.js';
import { BulwarkError, bulwarkError, isAbortError, traitsOf } from '../../errors.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from '../policy.js';
import type { LimitAlgorithm } from './limit.js';
import { resolveLimiterOptions, type ConcurrencyLimiterOptions, type LimitChange } from './options.js';
import { WaitQueue, type Waiter } from './wait-queue.js';

/** Per-call options of {@link ConcurrencyLimiter.acquire}. */
export interface AcquireOptions {
  /** Aborting it takes a queued caller out of the queue at once; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Absolute deadline, epoch ms of the limiter's clock: a queued caller gives up when it passes. */
  deadline?: number;
}

/**
 * The right to one request. Report how it went exactly once; a second report is ignored.
 * An unreported token holds its slot for ever, so report on every exit path.
 */
export interface ConcurrencyToken {
  /** The request completed: its RTT is a sample. */
  success(): void;
  /** The request was shed or timed out (timeout, 429, 503): a congestion sample. */
  dropped(): void;
  /** Release the slot without a sample (the caller aborted; a 4xx that says nothing of capacity). */
  ignore(): void;
}

/** The limiter's state at a glance. */
export interface ConcurrencySnapshot {
  readonly limit: number;
  readonly inflight: number;
  readonly queued: number;
}

type Complete = (token: LimiterToken, dropped: boolean | undefined) => void;

class LimiterToken implements ConcurrencyToken {
  readonly startTime: number;
  readonly inflight: number;
  #complete: Complete | undefined;

  constructor(complete: Complete, startTime: number, inflight: number) {
    this.#complete = complete;
    this.startTime = startTime;
    this.inflight = inflight;
  }

  success(): void {
    this.#report(false);
  }

  dropped(): void {
    this.#report(true);
  }

  ignore(): void {
    this.#report(undefined);
  }

  #report(dropped: boolean | undefined): void {
    const complete = this.#complete;
    if (complete === undefined) return;
    this.#complete = undefined;
    complete(this, dropped);
  }
}

/**
 * An adaptive concurrency limit (Netflix concurrency-limits' `SimpleLimiter`, the role of
 * Regulator in Hardhat): at most `limit` requests in flight, the limit moved by a
 * {@link LimitAlgorithm} fed one sample per completed request.
 *
 * `acquire()` decides synchronously whenever it can: it returns a token or throws
 * `CONCURRENCY_LIMITED`, with no promise allocated. Only a caller that has to queue
 * (`maxQueue` > 0) gets a promise. Queued callers are admitted first in, first out, when a
 * token is released or the limit rises. One limiter guards one downstream (a client, or one
 * origin of it); there is no keyed registry here: keep a `Map` of limiters if you need one per key.
 * @example
 * const limiter = new ConcurrencyLimiter({ algorithm: 'gradient2', maxQueue: 50 });
 * const token = await limiter.acquire({ signal });
 * try {
 *   const res = await send();
 *   if (res.status === 429 || res.status === 503) token.dropped(); else token.success();
 * } catch (err) {
 *   if (isBulwarkError(err, 'ABORTED')) token.ignore(); else token.dropped();
 *   throw err;
 * }
 */
export class ConcurrencyLimiter implements Policy {
  /** The control law in use (read it for algorithm-specific state, e.g. `longRttMs`). */
  readonly algorithm: LimitAlgorithm;
  readonly #clock: Clock;
  readonly #maxQueue: number;
  readonly #queueTimeout: number;
  readonly #queue = new WaitQueue<ConcurrencyToken>();
  readonly #listeners: ((change: LimitChange) => void)[] = [];
  readonly #complete: Complete;
  #limit: number;
  #inflight = 0;

  constructor(options: ConcurrencyLimiterOptions = {}) {
    const resolved = resolveLimiterOptions(options);
    this.algorithm = resolved.algorithm;
    this.#clock = resolved.clock;
    this.#maxQueue = resolved.maxQueue;
    this.#queueTimeout = resolved.queueTimeout;
    if (resolved.onLimitChange !== undefined) this.#listeners.push(resolved.onLimitChange);
    this.#limit = readLimit(this.algorithm);
    // One function for every token, so a token costs one small object and no closure.
    this.#complete = (token, dropped) => {
      this.#release(token, dropped);
    };
  }

  /** The current limit. */
  get limit(): number {
    return this.#limit;
  }

  /** Requests holding a token. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Callers waiting for a token. */
  get queued(): number {
    return this.#queue.size;
  }

  /**
   * True when a caller asking now would be refused at once: every slot taken and the queue full,
   * counting `releasing` slots (held by the asker itself, about to be given back) as free.
   */
  wouldRefuse(releasing = 0): boolean {
    return this.#inflight - releasing >= this.#limit && this.#queue.size >= this.#maxQueue;
  }

  /** `{ limit, inflight, queued }` now. */
  snapshot(): ConcurrencySnapshot {
    return { limit: this.#limit, inflight: this.#inflight, queued: this.#queue.size };
  }

  /**
   * Subscribes to limit changes; returns the function that unsubscribes.
   * @example const off = limiter.onLimitChange(({ from, to }) => gauge.record(to));
   */
  onLimitChange(listener: (change: LimitChange) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i !== -1) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Takes a slot. Under the limit, returns a token at once. At the limit, with room in the
   * queue, returns a promise that resolves when a slot frees and rejects with `CONCURRENCY_LIMITED`
   * after `queueTimeout` or at `deadline`, or with `signal.reason` on abort. With no room (or a
   * deadline already past) it throws `CONCURRENCY_LIMITED` carrying `limit` and `inflight`.
   * An already-aborted signal throws its reason.
   */
  acquire(options?: AcquireOptions): ConcurrencyToken | Promise<ConcurrencyToken> {
    const signal = options?.signal;
    if (signal?.aborted === true) throw signal.reason;
    if (this.#inflight < this.#limit && this.#queue.size === 0) {
      return new LimiterToken(this.#complete, this.#clock.now(), ++this.#inflight);
    }
    return this.#enqueue(signal, options?.deadline);
  }

  /**
   * Takes a slot (queueing for one as `acquire` does), runs `fn`, and gives the slot back with
   * one sample, under the contract of {@link ExecuteOptions} (`key` is ignored: keep a limiter
   * per key if you need one). A value is a success sample; an error whose code is congestion in
   * `ERROR_TRAITS` (a timeout, `NETWORK`) a dropped one; an abort, the deadline or any other
   * error gives the slot back without a sample. Aborting while queued leaves the queue at once,
   * so the place goes to the next caller.
   * @example
   * const rows = await limiter.execute(({ signal }) => db.query(sql, { signal }), { signal });
   */
  execute<T>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    return guarded(this.#clock, options, async (ctx) => {
      const deadline = ctx.deadline === Number.POSITIVE_INFINITY ? undefined : ctx.deadline;
      const slot = this.acquire(
        deadline === undefined ? { signal: ctx.signal } : { signal: ctx.signal, deadline },
      );
      const token = slot instanceof Promise ? await slot : slot;
      let value: T;
      try {
        value = await fn(ctx);
      } catch (error) {
        const congestion = traitsOf(error)?.congestion === true;
        if (congestion && !ctx.signal.aborted && !isAbortError(error)) token.dropped();
        else token.ignore();
        throw error;
      }
      token.success();
      return value;
    });
  }

  #enqueue(signal: AbortSignal | undefined, deadline: number | undefined): Promise<ConcurrencyToken> {
    if (this.#queue.size >= this.#maxQueue) throw this.#rejection('full', undefined);
    let wait = this.#queueTimeout;
    let cause: 'timeout' | 'deadline' = 'timeout';
    if (deadline !== undefined) {
      const left = deadline - this.#clock.now();
      if (left <= 0) throw this.#rejection('deadline', deadline);
      if (left < wait) {
        wait = left;
        cause = 'deadline';
      }
    }
    const { waiter, promise } = this.#queue.push(signal, cause);
    waiter.timer = this.#clock.setTimeout(() => {
      this.#expire(waiter, deadline);
    }, wait);
    return promise;
  }

  #expire(waiter: Waiter<ConcurrencyToken>, deadline: number | undefined): void {
    waiter.fail(this.#rejection(waiter.cause, waiter.cause === 'deadline' ? deadline : undefined));
  }

  #release(token: LimiterToken, dropped: boolean | undefined): void {
    this.#inflight--;
    if (dropped === undefined) {
      if (this.#queue.size > 0) this.#admit();
      return;
    }
    const from = this.#limit;
    try {
      const rttMs = this.#clock.now() - token.startTime;
      this.algorithm.onSample({ startTime: token.startTime, rttMs, inflight: token.inflight, dropped });
    } finally {
      this.#limit = readLimit(this.algorithm);
      if (this.#queue.size > 0) this.#admit();
    }
    const to = this.#limit;
    if (to !== from) {
      const change: LimitChange = { from, to };
      for (const listener of [...this.#listeners]) listener(change);
    }
  }

  #admit(): void {
    const now = this.#clock.now();
    while (this.#inflight < this.#limit) {
      const waiter = this.#queue.shift();
      if (waiter === undefined) return;
      waiter.admit(new LimiterToken(this.#complete, now, ++this.#inflight));
    }
  }

  #rejection(reason: 'full' | 'timeout' | 'deadline', deadline: number | undefined): BulwarkError {
    const limit = this.#limit;
    const inflight = this.#inflight;
    const state = `${inflight} in flight, limit ${limit}`;
    let message: string;
    if (reason === 'full') {
      message =
        this.#maxQueue === 0
          ? `Concurrency limit reached (${state}).`
          : `Concurrency limit reached and queue full (${state}, ${this.#queue.size} queued, maxQueue ${this.#maxQueue}).`;
    } else if (reason === 'timeout') {
      message = `No concurrency slot freed within queueTimeout ${this.#queueTimeout} ms (${state}).`;
    } else {
      message = `No concurrency slot freed before the deadline (${state}).`;
    }
    return bulwarkError(
      'CONCURRENCY_LIMITED',
      message,
      deadline === undefined ? { limit, inflight } : { limit, inflight, deadline },
    );
  }
}

/** A custom algorithm's limit, made an integer >= 1 (NaN counts as 1) so admission stays sane. */
function readLimit(algorithm: LimitAlgorithm): number {
  const limit = algorithm.limit;
  return limit >= 1 ? Math.floor(limit) : 1;
}
