/**
 * The one contract of the standalone policies: `execute(fn, { signal, deadline, key })`, the same
 * for each of them, and {@link wrap}, which composes policies (outermost first) into one with the
 * same `execute`. The client's stages do not go through it: they call the policies' own
 * step-by-step methods (`tryAcquire`, `acquire`), which cost no promise on the happy path.
 */
import type { Clock, TimerHandle } from '../clock.js';
import {
  BulwarkError,
  bulwarkError,
  invalidOption,
  invalidRequest,
  isBulwarkError,
  promiseOf,
} from '../errors.js';

/** Per-call options of every policy's `execute`. */
export interface ExecuteOptions {
  /**
   * Aborting it ends the call at once: `execute` rejects with `ABORTED` (the signal's reason as
   * `cause`; a reason that is already a bulwark error is kept as it is), any wait of the policy
   * ends and gives its place back, and the signal `fn` received aborts.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Absolute deadline, epoch ms of the policy's clock (what `currentDeadline()` returns and what
   * the client's calls carry; `Infinity` for none). Past it nothing starts (`DEADLINE_EXCEEDED`),
   * no wait is begun that would end after it, and when it passes while `fn` runs, `execute`
   * rejects with `DEADLINE_EXCEEDED` and the signal `fn` received aborts.
   * @default Infinity
   */
  readonly deadline?: number | undefined;
  /**
   * The key of the per-key policies: the breaker of {@link CircuitBreakers}, the bucket of a
   * `RateLimiter`, the budget of a `RetryPolicy`. The others ignore it, and pass it on.
   * @default 'default'
   */
  readonly key?: string | undefined;
  /**
   * The attempt of an enclosing retry. A `RetryPolicy` sets it in the context it hands `fn`, and
   * each layer inside passes it on, so a timeout inside a retry knows it bounds one attempt.
   */
  readonly attempt?: number | undefined;
}

/** What `fn` receives from `execute`. It can be handed on as the options of an inner `execute`. */
export interface PolicyContext {
  /** Aborts when the caller's signal does, when the deadline passes, or when the policy abandons `fn` (a timeout, a losing hedge). */
  readonly signal: AbortSignal;
  /** The deadline in force, epoch ms; `Infinity` when none. */
  readonly deadline: number;
  /** The key the caller gave, if any. */
  readonly key: string | undefined;
  /** The attempt of the retry this runs in (1 for the first), when it runs in one. */
  readonly attempt?: number | undefined;
}

/**
 * A policy: anything with this `execute`. Every policy of `bulwark/policies` is one, and so is
 * what {@link wrap} returns. `V` bounds the values a policy judges (a `RetryPolicy<Response>`).
 */
export interface Policy<V = unknown> {
  /** Runs `fn` through the policy; resolves with its value or rejects with its error or the policy's. */
  execute<T extends V>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T>;
}

/** Signals made by {@link guarded}: the deadline they abort at, while their call runs. */
const guards = new WeakMap<AbortSignal, { readonly until: number; live: boolean }>();

/** The error a call ends with when `signal` aborted: its reason if a bulwark error, else `ABORTED` around it. */
export function abortError(signal: AbortSignal): BulwarkError {
  const reason: unknown = signal.reason;
  if (isBulwarkError(reason)) return reason;
  return new BulwarkError('ABORTED', 'The call was aborted by the caller.', { cause: reason });
}

function deadlineError(deadline: number): BulwarkError {
  return bulwarkError('DEADLINE_EXCEEDED', 'The deadline passed.', { deadline });
}

function timeoutError(timeoutMs: number, attempt: number | undefined): BulwarkError {
  if (attempt === undefined) {
    return bulwarkError('TIMEOUT', `The call timed out after ${timeoutMs} ms.`, { timeoutMs });
  }
  return bulwarkError('ATTEMPT_TIMEOUT', `Attempt ${attempt} timed out after ${timeoutMs} ms.`, {
    timeoutMs,
  });
}

/**
 * Runs `body` under the contract of {@link ExecuteOptions}: refuses at once when the signal has
 * aborted or the deadline has passed, and otherwise hands `body` a context whose signal aborts
 * (and makes the returned promise reject) when the caller's signal does, the deadline passes, or
 * `timeoutMs` (a timeout policy's) elapses, whichever is first. The timeout rejects with
 * `ATTEMPT_TIMEOUT` inside a retry (the options carry an `attempt`), which the retry retries,
 * and with `TIMEOUT` elsewhere. A signal an outer policy of the same call made, already ending
 * at this deadline or sooner, is handed on as it is: a wrap of five policies arms one timer and
 * one abort listener, not five.
 */
export function guarded<T>(
  clock: Clock,
  options: ExecuteOptions | undefined,
  body: (ctx: PolicyContext) => T | PromiseLike<T>,
  timeoutMs?: number,
): Promise<T> {
  const signal = options?.signal;
  const key = options?.key;
  const attempt = options?.attempt;
  let deadline = options?.deadline ?? Number.POSITIVE_INFINITY;
  if (typeof deadline !== 'number' || Number.isNaN(deadline)) {
    return Promise.reject(invalidRequest('deadline', deadline, 'epoch milliseconds, or Infinity for none'));
  }
  if (key !== undefined && typeof key !== 'string') {
    return Promise.reject(invalidRequest('key', key, 'a string'));
  }
  if (signal?.aborted === true) return Promise.reject(abortError(signal));
  const now = clock.now();
  if (deadline <= now) return Promise.reject(deadlineError(deadline));
  let error = deadlineError;
  if (timeoutMs !== undefined && now + timeoutMs < deadline) {
    deadline = now + timeoutMs;
    error = () => timeoutError(timeoutMs, attempt);
  }
  const outer = signal === undefined ? undefined : guards.get(signal);
  if (signal !== undefined && outer?.live === true && outer.until <= deadline) {
    const ctx: PolicyContext = { signal, deadline: outer.until, key, attempt };
    return promiseOf(() => body(ctx));
  }

  const controller = new AbortController();
  const ctx: PolicyContext = { signal: controller.signal, deadline, key, attempt };
  const state = { until: deadline, live: true };
  guards.set(controller.signal, state);
  if (signal === undefined && deadline === Number.POSITIVE_INFINITY) {
    // Nothing can end this call from outside: no listener, no timer, no race.
    const running = promiseOf(() => body(ctx));
    const over = (): void => {
      state.live = false;
    };
    running.then(over, over);
    return running;
  }
  return new Promise<T>((resolve, reject) => {
    let timer: TimerHandle | undefined;
    const done = (): void => {
      state.live = false;
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
    };
    const end = (reason: BulwarkError): void => {
      if (!state.live) return;
      done();
      // Aborting first lets every wait inside (a queue, a backoff) leave before the caller hears.
      controller.abort(reason);
      reject(reason);
    };
    function onAbort(): void {
      end(abortError(signal as AbortSignal));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    if (deadline !== Number.POSITIVE_INFINITY) {
      const at = deadline;
      timer = clock.setTimeout(() => {
        end(error(at));
      }, at - now);
    }
    promiseOf(() => body(ctx)).then(
      (value) => {
        done();
        resolve(value);
      },
      (reason: unknown) => {
        done();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the call's own error, unchanged
        reject(reason);
      },
    );
  });
}

/** What {@link wrap} returns: a policy, and the policies it runs, outermost first. */
export interface PolicyWrap<V = unknown> extends Policy<V> {
  readonly policies: readonly Policy<V>[];
}

class Wrapped<V> implements PolicyWrap<V> {
  readonly policies: readonly Policy<V>[];
  constructor(policies: readonly Policy<V>[]) {
    this.policies = policies;
  }

  execute<T extends V>(fn: (ctx: PolicyContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
    const policies = this.policies;
    const last = policies.length - 1;
    const step = (index: number, opts: ExecuteOptions | undefined): Promise<T> => {
      const policy = policies[index] as Policy<V>;
      if (index === last) return policy.execute(fn, opts);
      return policy.execute((ctx) => step(index + 1, ctx), opts);
    };
    return step(0, options);
  }
}

/**
 * Composes policies into one, outermost first: `wrap(retry, breaker, timeout).execute(fn)` runs
 * `retry.execute(() => breaker.execute(() => timeout.execute(fn)))`, each layer handing the next
 * the signal, deadline and key of the call. So the retry sees each attempt's outcome after the
 * breaker judged it, and the timeout bounds one attempt (put it first to bound the whole call).
 * A wrap is a policy too, and can be wrapped again.
 * @throws BulwarkError `INVALID_OPTIONS` without a policy, or for an argument that is not one.
 * @example
 * const resilient = wrap(retryPolicy({ maxRetries: 2 }), new CircuitBreaker(), timeoutPolicy(2_000));
 * const rows = await resilient.execute(({ signal }) => db.query(sql, { signal }), { key: 'db' });
 */
export function wrap<V = unknown>(...policies: readonly Policy<V>[]): PolicyWrap<V> {
  if (policies.length === 0) throw invalidOption('wrap()', undefined, 'at least one policy');
  policies.forEach((policy, i) => {
    if (typeof (policy as Partial<Policy<V>> | null)?.execute !== 'function') {
      throw invalidOption(`wrap(policies[${i}])`, policy, 'a policy (an object with an execute method)');
    }
  });
  return new Wrapped(Object.freeze([...policies]));
}
