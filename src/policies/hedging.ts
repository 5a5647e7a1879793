/**
 * Hedged requests (The Tail at Scale; Polly's latency mode): start one attempt, and if it has
 * not answered after `delayMs`, start another. The first acceptable answer wins; the others are
 * aborted through their own AbortSignal and any value they still produce is disposed, so a
 * losing response body never holds a socket.
 *
 * Hedges only cover slowness. An attempt that fails while no other is running ends the hedge
 * with that failure at once: retrying failures is the retry policy's job, with its backoff.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { BulwarkError } from '../errors.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from './policy.js';
import { isNonNegative, requireFinite, requireInteger } from '../validate.js';

/** Options of {@link hedge}. */
export interface HedgeOptions<T> {
  /**
   * Wait before each extra attempt, in ms, or a function read once per call (say, the p95 of a
   * {@link LatencyWindow}). 0 starts every attempt at once; a function returning a negative or
   * non-finite number disables hedging for that call.
   */
  delayMs: number | (() => number);
  /**
   * Extra attempts at most, from 0 to 10.
   * @default 1
   */
  maxHedges?: number;
  /** @default systemClock */
  clock?: Pick<Clock, 'setTimeout'>;
  /**
   * Whether a value may win; an unacceptable one (a 503, say) waits for the others.
   * @default () => true
   */
  isAcceptable?: (value: T) => boolean;
  /** Called with every value that is not returned: losers, late arrivals, superseded failures. */
  dispose?: (value: T) => void | Promise<void>;
  /** Asked before each extra attempt (the retry budget pays for hedges); false: no more hedges. */
  tryWithdraw?: () => boolean;
  /** The caller's signal: aborting cancels every attempt and rejects with its reason. */
  signal?: AbortSignal;
  /** Called when an extra attempt starts, with its index (1 for the first hedge). */
  onHedge?: (index: number) => void;
  /**
   * Called when an acceptable value wins: its attempt's index (0 the primary) and how many extra
   * attempts had started. Not called when every attempt failed.
   */
  onSettled?: (winner: number, hedges: number) => void;
}

type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

function release<T>(dispose: ((value: T) => void | Promise<void>) | undefined, value: T): void {
  if (dispose === undefined) return;
  try {
    const result = dispose(value);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // A disposer's failure must not change which answer the caller gets.
  }
}

function resolveDelay(delay: number | (() => number)): number {
  if (typeof delay === 'function') {
    const ms = delay();
    return ms >= 0 && ms < Number.POSITIVE_INFINITY ? ms : Number.NaN;
  }
  return requireFinite(
    'options',
    'hedging.delayMs',
    delay,
    isNonNegative,
    'a finite number of milliseconds ≥ 0 or a function',
  );
}

/**
 * Runs `fn` hedged. `fn` receives the attempt's own signal (aborted when it loses) and its index
 * (0 for the primary).
 * @returns the first acceptable value; when every attempt started failed, the last error (rejected)
 *   or the last unacceptable value (resolved).
 * @throws BulwarkError `INVALID_OPTIONS` for a bad `delayMs` or `maxHedges` (synchronously).
 * @example
 * const res = await hedge((signal) => get(url, { signal }), { delayMs: () => window.p95() ?? 2_000 });
 */
export function hedge<T>(
  fn: (signal: AbortSignal, index: number) => Promise<T>,
  opts: HedgeOptions<T>,
): Promise<T> {
  const maxHedges = opts.maxHedges ?? 1;
  requireInteger('options', 'hedging.maxHedges', maxHedges, 0, 10);
  const delay = resolveDelay(opts.delayMs);
  const { clock = systemClock, isAcceptable, dispose, tryWithdraw, signal, onHedge, onSettled } = opts;
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);

  return new Promise<T>((resolve, reject) => {
    const controllers: AbortController[] = [];
    let settledCount = 0;
    let done = false;
    let timer: TimerHandle | undefined;
    let last: Settled<T> | undefined;

    const finish = (): void => {
      done = true;
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    };
    const abortAll = (except: number, reason: unknown): void => {
      for (let i = 0; i < controllers.length; i++) if (i !== except) controllers[i]?.abort(reason);
    };
    function onAbort(): void {
      if (done) return;
      finish();
      abortAll(-1, signal?.reason);
      if (last?.ok === true) release(dispose, last.value);
      reject(signal?.reason as Error);
    }
    const settle = (index: number, outcome: Settled<T>): void => {
      settledCount++;
      if (done) {
        if (outcome.ok) release(dispose, outcome.value);
        return;
      }
      if (outcome.ok && (isAcceptable === undefined || isAcceptable(outcome.value))) {
        finish();
        abortAll(index, new BulwarkError('ABORTED', 'Another hedged attempt answered first.'));
        if (last?.ok === true) release(dispose, last.value);
        onSettled?.(index, controllers.length - 1);
        resolve(outcome.value);
        return;
      }
      if (last?.ok === true) release(dispose, last.value);
      last = outcome;
      if (settledCount === controllers.length) {
        finish();
        if (outcome.ok) resolve(outcome.value);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the attempt's own error, unchanged
        else reject(outcome.error);
      }
    };
    const start = (index: number): void => {
      const controller = new AbortController();
      controllers.push(controller);
      if (index > 0) onHedge?.(index);
      // The executor turns a synchronous throw of `fn` into a rejection like any other.
      new Promise<T>((run) => {
        run(fn(controller.signal, index));
      }).then(
        (value) => {
          settle(index, { ok: true, value });
        },
        (error: unknown) => {
          settle(index, { ok: false, error });
        },
      );
    };
    // Each hedge is paid for when it starts, never in advance.
    const startHedge = (): boolean => {
      if (done || controllers.length > maxHedges || (tryWithdraw !== undefined && !tryWithdraw()))
        return false;
      start(controllers.length);
      return true;
    };
    const schedule = (): void => {
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (startHedge() && controllers.length <= maxHedges) schedule();
      }, delay);
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    start(0);
    if (maxHedges === 0 || Number.isNaN(delay)) return;
    if (delay > 0) {
      schedule();
      return;
    }
    // Parallel mode: every attempt at once, each still paid for.
    for (let i = 1; i <= maxHedges; i++) if (!startHedge()) return;
  });
}

/** Options of {@link HedgePolicy}: those of {@link hedge} but the per-call `signal`, with a whole clock. */
export interface HedgePolicyOptions<T> extends Omit<HedgeOptions<T>, 'signal' | 'clock'> {
  /** @default systemClock */
  clock?: Clock;
}

/** What each hedged attempt receives: the call's context, its own signal, and its index. */
export interface HedgeAttemptContext extends PolicyContext {
  /** 0 for the primary attempt, 1 for the first hedge. */
  readonly index: number;
}

/**
 * {@link hedge} as a policy of the one contract. Each attempt gets a signal of its own, aborted
 * when it loses or when the call's signal aborts or its deadline passes.
 * @example
 * const fastest = hedgePolicy({ delayMs: 50, maxHedges: 2 });
 * const value = await fastest.execute(({ signal }) => replica.get(id, { signal }), { deadline });
 */
export class HedgePolicy<V = unknown> implements Policy<V> {
  readonly #options: HedgePolicyOptions<V>;
  readonly #clock: Clock;

  /** @throws BulwarkError `INVALID_OPTIONS` for a bad `delayMs` or `maxHedges`. */
  constructor(options: HedgePolicyOptions<V>) {
    requireInteger('options', 'hedging.maxHedges', options.maxHedges ?? 1, 0, 10);
    if (typeof options.delayMs !== 'function') resolveDelay(options.delayMs);
    this.#options = { ...options };
    this.#clock = options.clock ?? systemClock;
  }

  /** Runs `fn` hedged, under the contract of {@link ExecuteOptions} (`key` is passed on). */
  execute<T extends V>(
    fn: (ctx: HedgeAttemptContext) => T | PromiseLike<T>,
    options?: ExecuteOptions,
  ): Promise<T> {
    return guarded(this.#clock, options, (ctx) =>
      hedge<T>(
        (signal, index) =>
          Promise.resolve(fn({ signal, deadline: ctx.deadline, key: ctx.key, attempt: ctx.attempt, index })),
        { ...(this.#options as HedgePolicyOptions<T>), clock: this.#clock, signal: ctx.signal },
      ),
    );
  }
}

/**
 * Creates a {@link HedgePolicy}.
 * @example const fastest = hedgePolicy({ delayMs: 50 });
 */
export function hedgePolicy<V = unknown>(options: HedgePolicyOptions<V>): HedgePolicy<V> {
  return new HedgePolicy(options);
}
