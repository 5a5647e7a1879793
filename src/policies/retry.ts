/**
 * A retry policy usable around any async function. It knows nothing of HTTP: the pipeline glue
 * tells it what an outcome means through `classify` (retryable? throttled? a server hint?) and
 * drains discarded response bodies through `dispose`.
 *
 * Retries here cannot hurt: each one is paid from a per-key {@link RetryBudgets} (Finagle), a
 * server hint longer than `maxRetryAfter` or than the deadline returns the last answer at once
 * instead of sleeping, and a retry that cannot fit before the deadline is not started.
 */
import { systemClock, systemRandom, type Clock, type RandomSource } from '../clock.js';
import { ERROR_TRAITS, invalidOption, isBulwarkError } from '../errors.js';
import { checkFunction, checkNumber, type Scope } from '../validate.js';
import { backoffDelay, resolveBackoff, type Backoff, type BackoffOptions } from './backoff.js';
import { guarded, type ExecuteOptions, type Policy, type PolicyContext } from './policy.js';
import { RetryBudget, RetryBudgets, type RetryBudgetOptions } from './retry-budget.js';

/** What one attempt ended with. `attempt` counts from 1. */
export type RetryOutcome<T> =
  | { readonly ok: true; readonly attempt: number; readonly value: T }
  | { readonly ok: false; readonly attempt: number; readonly error: unknown };

/** The verdict on an outcome. `hintMs` (a server's `Retry-After`) replaces the backoff. */
export type RetryDecision =
  | { readonly retry: false }
  | { readonly retry: true; readonly reason: string; readonly throttled?: boolean; readonly hintMs?: number };

/** Passed to `onRetry` before each wait. `attempt` is the attempt that just failed. */
export interface RetryEvent<T> {
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
  readonly source: 'backoff' | 'hint';
  readonly outcome: RetryOutcome<T>;
}

/** Why the policy stopped on a failure. */
export type GiveUpReason =
  'budget' | 'deadline' | 'max-retries' | 'hint-too-long' | 'not-retryable' | 'aborted' | 'refused';

/**
 * Passed to `onGiveUp` when the call ends on a failure the policy did not (or could not) retry.
 * A value outcome that is simply accepted is no give-up. After an abort during a wait
 * (`'aborted'`), `outcome` is the previous attempt's, whose value was already disposed.
 */
export interface GiveUpEvent<T> {
  readonly attempt: number;
  readonly reason: GiveUpReason;
  readonly outcome: RetryOutcome<T>;
}

/** What each attempt receives: the call's {@link PolicyContext} and the attempt's number. */
export interface RetryAttemptContext extends PolicyContext {
  /** 1 for the first attempt (a retry inside another numbers its own attempts). */
  readonly attempt: number;
}

/** Per-call options of {@link RetryPolicy.execute}: the contract's, the key naming the budget. */
export type RetryExecuteOptions = ExecuteOptions;

/** Per-call options of {@link RetryPolicy.run}, the form the client's retry stage uses. */
export interface RetryRunOptions {
  /** Aborting stops at once: a running wait is cancelled and the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** Absolute deadline, epoch ms of the policy's clock: no retry starts that cannot fit before it. */
  deadline?: number;
  /**
   * The retry budget key (an origin, say).
   * @default 'default'
   */
  key?: string | undefined;
  /**
   * Hooks for this call only, beside the policy's own: `classify` replaces the policy's
   * (the HTTP glue judges with the request in hand); `onRetry`/`onGiveUp` run after the policy's.
   */
  hooks?: RetryHooks<unknown>;
  /**
   * The caller already deposited this call in the budget (it sent the first attempt itself and
   * only calls `run` when that attempt looks retryable).
   * @default false
   */
  deposited?: boolean;
}

/** Per-call hooks of {@link RetryRunOptions}. */
export interface RetryHooks<T> {
  classify?(outcome: RetryOutcome<T>): RetryDecision;
  /**
   * Asked before waiting `delayMs` for a retry: `false` when the retry would be refused at once
   * when it starts (an open circuit, a full concurrency limiter). The call then ends with the
   * last outcome now (give-up reason `'refused'`) instead of waiting to be refused.
   */
  admits?(delayMs: number, outcome: RetryOutcome<T>): boolean;
  /**
   * Told when a wait for a retry starts, with `refuse` to end the wait early: the hooks call it
   * when the retry would now be refused when it starts (a circuit opened meanwhile). The call then ends with the last outcome at once
   * (give-up reason `'refused'`), as if `admits` had said false before the wait. Returns what
   * forgets the waiter once the wait is over, however it ended.
   */
  onWait?(refuse: () => void): (() => void) | undefined;
  onRetry?(event: RetryEvent<T>): void;
  onGiveUp?(event: GiveUpEvent<T>): void;
}

/** Options of {@link RetryPolicy}. Backoff options (`baseDelay`, `maxDelay`, `jitter`, `throttledBaseDelay`) sit beside them. */
export interface RetryOptions<V = unknown> extends BackoffOptions {
  /**
   * Retries after the first attempt, from 0 to 100.
   * @default 3
   */
  maxRetries?: number;
  /**
   * What an outcome means. Without it, values are accepted and errors retried, except bulwark
   * errors other than `NETWORK` and `ATTEMPT_TIMEOUT` (see {@link defaultClassify}).
   * @default defaultClassify
   */
  classify?: (outcome: RetryOutcome<V>) => RetryDecision;
  /** The user's override: `true` or `false` wins over `classify`, `undefined` defers to it. */
  shouldRetry?: (outcome: RetryOutcome<V>) => boolean | undefined;
  /**
   * Where retries are paid from: a shared {@link RetryBudgets} (keyed by `execute`'s `key`), one
   * {@link RetryBudget}, options for a budget of this policy's own, or `false` for none.
   * @default a RetryBudgets of this policy: 20 % of calls + 10 retries/s over 10 s, per key
   */
  budget?: RetryBudgets | RetryBudget | RetryBudgetOptions | false;
  /**
   * Longest server hint (ms) worth waiting for; a longer one returns the last outcome at once.
   * @default 60_000
   */
  maxRetryAfter?: number;
  /**
   * Least time (ms) an attempt needs: a retry whose wait plus this would pass the deadline is not
   * started. The policy cannot know how long an attempt takes, so the default only refuses
   * retries that would start at or after the deadline; the HTTP glue may pass a measured latency.
   * @default 1
   */
  minAttemptMs?: number;
  /** Called before each wait. Errors it throws are ignored. */
  onRetry?: (event: RetryEvent<V>) => void;
  /** Called when the call ends on a failure that is not retried. Errors it throws are ignored. */
  onGiveUp?: (event: GiveUpEvent<V>) => void;
  /** Called with every value the policy discards to retry (the glue drains response bodies here). */
  dispose?: (value: V) => void | Promise<void>;
  /** @default systemClock */
  clock?: Clock;
  /** @default systemRandom */
  random?: RandomSource;
}

const NO_RETRY: RetryDecision = Object.freeze({ retry: false });
const MAX_WAIT = 86_400_000;

/**
 * The classification used without `classify`: values are final; errors are retried, except
 * bulwark errors whose code is not `'transient'` in `ERROR_TRAITS` (only `NETWORK` and
 * `ATTEMPT_TIMEOUT` are: an open circuit, a full limiter, a caller abort or a deadline must not be
 * retried). The reason is the error's code or name.
 */
export function defaultClassify(outcome: RetryOutcome<unknown>): RetryDecision {
  if (outcome.ok) return NO_RETRY;
  const error = outcome.error;
  if (isBulwarkError(error))
    return ERROR_TRAITS[error.code].retry === 'transient' ? { retry: true, reason: error.code } : NO_RETRY;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return { retry: true, reason: code };
  return { retry: true, reason: error instanceof Error ? error.name : 'error' };
}

/** The reason a wait ends with when `onWait`'s refusal ends it (never seen outside the policy). */
const WAIT_REFUSED = new Error('retry refused while waiting');

// A function, not an inline check: the signal can abort while an attempt is awaited.
const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;

function safely<A>(fn: ((arg: A) => unknown) | undefined, arg: A): void {
  if (fn === undefined) return;
  try {
    const result = fn(arg);
    if (result instanceof Promise) result.catch(() => undefined);
  } catch {
    // Observers and disposers must not change the outcome of the call.
  }
}

/**
 * Retries an async function with exponential backoff, server hints, a deadline and a budget.
 * @example
 * const policy = new RetryPolicy({ maxRetries: 2 });
 * const data = await policy.execute(({ attempt }) => fetchData(attempt), { key: 'db' });
 */
export class RetryPolicy<V = unknown> implements Policy<V> {
  readonly #maxRetries: number;
  readonly #backoff: Backoff;
  readonly #classify: ((outcome: RetryOutcome<V>) => RetryDecision) | undefined;
  readonly #shouldRetry: ((outcome: RetryOutcome<V>) => boolean | undefined) | undefined;
  readonly #budget: RetryBudgets | RetryBudget | undefined;
  readonly #maxRetryAfter: number;
  readonly #minAttemptMs: number;
  readonly #onRetry: ((event: RetryEvent<V>) => void) | undefined;
  readonly #onGiveUp: ((event: GiveUpEvent<V>) => void) | undefined;
  readonly #dispose: ((value: V) => void | Promise<void>) | undefined;
  readonly #clock: Clock;
  readonly #random: RandomSource;

  /**
   * @param path prefixes option names in errors
   * @param scope whose options these are: `'request'` (one call's overrides) reports `INVALID_REQUEST`
   * @throws BulwarkError `INVALID_OPTIONS` naming the option, e.g. `retry.maxRetries`.
   */
  constructor(options: RetryOptions<V> = {}, path = 'retry', scope: Scope = 'options') {
    this.#maxRetries = checkNumber(scope, `${path}.maxRetries`, options.maxRetries, 0, 100, true) ?? 3;
    this.#maxRetryAfter =
      checkNumber(scope, `${path}.maxRetryAfter`, options.maxRetryAfter, 0, MAX_WAIT) ?? 60_000;
    this.#minAttemptMs = checkNumber(scope, `${path}.minAttemptMs`, options.minAttemptMs, 0, MAX_WAIT) ?? 1;
    this.#backoff = resolveBackoff(options, path, scope);
    this.#classify = checkFunction(scope, `${path}.classify`, options.classify);
    this.#shouldRetry = checkFunction(scope, `${path}.shouldRetry`, options.shouldRetry);
    this.#onRetry = checkFunction(scope, `${path}.onRetry`, options.onRetry);
    this.#onGiveUp = checkFunction(scope, `${path}.onGiveUp`, options.onGiveUp);
    this.#dispose = checkFunction(scope, `${path}.dispose`, options.dispose);
    this.#clock = options.clock ?? systemClock;
    this.#random = checkFunction(scope, `${path}.random`, options.random) ?? systemRandom;
    const budget = options.budget;
    if (budget === false) this.#budget = undefined;
    else if (budget instanceof RetryBudgets || budget instanceof RetryBudget) this.#budget = budget;
    else if (budget === undefined || (typeof budget === 'object' && !Array.isArray(budget))) {
      this.#budget = new RetryBudgets({ ...budget, clock: this.#clock }, `${path}.budget`);
    } else {
      throw invalidOption(`${path}.budget`, budget, 'a RetryBudgets, a RetryBudget, budget options or false');
    }
  }

  /** The budget retries are paid from, if any (for `client.inspect()` and for hedges). */
  get budget(): RetryBudgets | RetryBudget | undefined {
    return this.#budget;
  }

  #decide(outcome: RetryOutcome<V>, hooks: RetryHooks<unknown> | undefined): RetryDecision {
    let decision: RetryDecision;
    if (hooks?.classify !== undefined) decision = hooks.classify(outcome);
    else decision = this.#classify === undefined ? defaultClassify(outcome) : this.#classify(outcome);
    const override = this.#shouldRetry?.(outcome);
    if (override === false) decision = NO_RETRY;
    else if (override === true && !decision.retry) decision = { retry: true, reason: 'shouldRetry' };
    return decision;
  }

  #giveUp<T extends V>(
    attempt: number,
    reason: GiveUpReason,
    outcome: RetryOutcome<T>,
    hooks: RetryHooks<unknown> | undefined,
  ): T {
    this.#tellGiveUp(attempt, reason, outcome, hooks);
    if (outcome.ok) return outcome.value;
    throw outcome.error;
  }

  #tellGiveUp(
    attempt: number,
    reason: GiveUpReason,
    outcome: RetryOutcome<V>,
    hooks: RetryHooks<unknown> | undefined,
  ): void {
    if (this.#onGiveUp !== undefined) safely(this.#onGiveUp, { attempt, reason, outcome });
    if (hooks?.onGiveUp !== undefined) safely(hooks.onGiveUp.bind(hooks), { attempt, reason, outcome });
  }

  /**
   * Runs `fn` until it gives an outcome that is not retried, retries run out, or the budget, the
   * deadline or a server hint says stop; then returns that last value or throws that last error.
   * The contract of {@link ExecuteOptions}: aborting rejects with `ABORTED` (a backoff wait ends
   * at once), no retry starts that cannot fit before the deadline, and when the deadline passes
   * during an attempt the call rejects with `DEADLINE_EXCEEDED`; `key` names the budget.
   * @example
   * const rows = await retry.execute(({ attempt, signal }) => db.query(sql, { signal }), { key: 'db' });
   */
  execute<T extends V>(
    fn: (ctx: RetryAttemptContext) => T | PromiseLike<T>,
    options?: RetryExecuteOptions,
  ): Promise<T> {
    return guarded(this.#clock, options, (ctx) =>
      this.run((attempt) => fn({ signal: ctx.signal, deadline: ctx.deadline, key: ctx.key, attempt }), ctx),
    );
  }

  /**
   * The step the client's retry stage takes: the same schedule as {@link execute} with no guard of
   * its own (the call's signal, deadline and timeouts are the pipeline's, and their errors its
   * own), per-call `hooks`, and a first attempt the caller may have made and paid for already.
   * Aborting `signal` rejects with its reason.
   */
  async run<T extends V>(fn: (attempt: number) => T | PromiseLike<T>, opts?: RetryRunOptions): Promise<T> {
    const signal = opts?.signal;
    if (signal?.aborted === true) throw signal.reason;
    const key = opts?.key ?? 'default';
    if (opts?.deposited !== true) this.#deposit(key);
    const deadline = opts?.deadline ?? Number.POSITIVE_INFINITY;
    const hooks = opts?.hooks;
    // Without a classifier a value is never retried: the first one returns without an outcome record.
    const plain =
      this.#classify === undefined && this.#shouldRetry === undefined && hooks?.classify === undefined;

    for (let attempt = 1; ; attempt++) {
      let outcome: RetryOutcome<T>;
      try {
        const value = await fn(attempt);
        if (plain) return value;
        outcome = { ok: true, attempt, value };
      } catch (error) {
        outcome = { ok: false, attempt, error };
      }
      const decision = this.#decide(outcome, hooks);
      if (!decision.retry) {
        if (outcome.ok) return outcome.value;
        return this.#giveUp<T>(attempt, 'not-retryable', outcome, hooks);
      }
      const delayMs = this.#admit(attempt, decision, outcome, { key, deadline, signal, hooks });
      if (typeof delayMs !== 'number') return this.#giveUp(attempt, delayMs, outcome, hooks);
      this.#announce(delayMs, decision, outcome, hooks);
      if (delayMs > 0 && (await this.#wait(delayMs, signal, outcome, hooks)) === 'refused') {
        return this.#giveUp(attempt, 'refused', outcome, hooks);
      }
    }
  }

  #deposit(key: string): void {
    const budget = this.#budget;
    if (budget instanceof RetryBudgets) budget.deposit(key);
    else budget?.deposit();
  }

  /**
   * Whether the retry `decision` asks for may go, and after how long: the delay in ms, or why
   * not. The checks are ordered cheapest and most telling first; the budget is paid last, only
   * for a retry that will be made.
   */
  #admit(
    attempt: number,
    decision: RetryDecision & { retry: true },
    outcome: RetryOutcome<V>,
    call: AdmitContext,
  ): number | GiveUpReason {
    if (isAborted(call.signal)) return 'aborted';
    if (attempt > this.#maxRetries) return 'max-retries';
    const hint = hintOf(decision);
    if (hint !== undefined && hint > this.#maxRetryAfter) return 'hint-too-long';
    const delayMs =
      hint === undefined
        ? backoffDelay(this.#backoff, attempt - 1, this.#random, decision.throttled === true)
        : Math.ceil(hint);
    if (this.#clock.now() + delayMs + this.#minAttemptMs > call.deadline) return 'deadline';
    if (call.hooks?.admits?.(delayMs, outcome) === false) return 'refused';
    const budget = this.#budget;
    const paid =
      budget === undefined ||
      (budget instanceof RetryBudgets ? budget.tryWithdraw(call.key) : budget.tryWithdraw());
    return paid ? delayMs : 'budget';
  }

  /** Disposes of the value that will be retried, and tells the observers a retry is coming. */
  #announce<T extends V>(
    delayMs: number,
    decision: RetryDecision & { retry: true },
    outcome: RetryOutcome<T>,
    hooks: RetryHooks<unknown> | undefined,
  ): void {
    if (outcome.ok && this.#dispose !== undefined) safely(this.#dispose, outcome.value);
    if (this.#onRetry === undefined && hooks?.onRetry === undefined) return;
    const event: RetryEvent<T> = {
      attempt: outcome.attempt,
      delayMs,
      reason: decision.reason,
      source: hintOf(decision) === undefined ? 'backoff' : 'hint',
      outcome,
    };
    if (this.#onRetry !== undefined) safely(this.#onRetry, event);
    if (hooks?.onRetry !== undefined) safely(hooks.onRetry.bind(hooks), event);
  }

  /**
   * Waits `delayMs` before the next attempt. Aborting the signal rejects with its reason (after
   * the give-up hooks); the hooks' `onWait` may end the wait early with `'refused'`.
   */
  async #wait<T extends V>(
    delayMs: number,
    signal: AbortSignal | undefined,
    outcome: RetryOutcome<T>,
    hooks: RetryHooks<unknown> | undefined,
  ): Promise<'waited' | 'refused'> {
    let sleepSignal = signal;
    let forget: (() => void) | undefined;
    let forward: (() => void) | undefined;
    if (hooks?.onWait !== undefined) {
      // A signal of the wait's own, aborted by the caller's or by a refusal.
      const wait = new AbortController();
      if (signal !== undefined) {
        const abort = (): void => {
          wait.abort(signal.reason);
        };
        forward = () => {
          signal.removeEventListener('abort', abort);
        };
        signal.addEventListener('abort', abort, { once: true });
        if (signal.aborted) abort();
      }
      forget = hooks.onWait(() => {
        wait.abort(WAIT_REFUSED);
      });
      sleepSignal = wait.signal;
    }
    try {
      await this.#clock.sleep(delayMs, sleepSignal);
      return 'waited';
    } catch (reason) {
      if (reason === WAIT_REFUSED) return 'refused';
      this.#tellGiveUp(outcome.attempt, 'aborted', outcome, hooks);
      throw reason;
    } finally {
      forget?.();
      forward?.();
    }
  }
}

/** What {@link RetryPolicy} needs of the call to admit a retry. */
interface AdmitContext {
  readonly key: string;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly hooks: RetryHooks<unknown> | undefined;
}

/** The server's hint of a decision, when it is a usable wait (finite, not negative). */
function hintOf(decision: RetryDecision & { retry: true }): number | undefined {
  const hint = decision.hintMs;
  return hint !== undefined && hint >= 0 && Number.isFinite(hint) ? hint : undefined;
}

/**
 * Creates a {@link RetryPolicy}.
 * @example const policy = retryPolicy({ maxRetries: 5, jitter: 'equal' });
 */
export function retryPolicy<V = unknown>(options?: RetryOptions<V>): RetryPolicy<V> {
  return new RetryPolicy(options);
}
