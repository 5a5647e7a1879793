// The retry stage: retries and hedges attempts through the retry policy, with HTTP's rules of what may be sent again.
import { callbackFailed, ERROR_TRAITS, isBulwarkError, traitsOf, type BulwarkError } from '../errors.js';
import { hedge } from '../policies/hedging.js';
import type { LatencyWindow } from '../policies/latency-window.js';
import type {
  RetryDecision,
  RetryEvent,
  GiveUpEvent,
  RetryHooks,
  RetryOutcome,
  RetryPolicy,
} from '../policies/retry.js';
import { RetryBudgets, type RetryBudget } from '../policies/retry-budget.js';
import { retryHintFromHeaders, type RetryHint } from '../policies/server-hints.js';
import type { BulwarkResponse } from '../http/response.js';
import { cancelCall, forkContext } from './cancel.js';
import type { HttpRetrySettings, RetryCallOverride, RetryOverride } from './call-policies.js';
import { outcomeOf } from './outcome.js';
import type { CallContext, Stage, StageNext } from './types.js';

export type { HttpRetrySettings, RetryCallOverride, RetryOverride };

/** Hedging settings, when on. */
export interface HedgingSettings {
  /** Fixed delay, or the p95 of recent latencies (with a fallback until enough samples). */
  readonly delay: number | 'p95';
  readonly fallbackDelay: number;
  readonly maxHedges: number;
  readonly window: LatencyWindow;
  readonly budgets: RetryBudgets | undefined;
}

/**
 * Asks whether an attempt of this call starting `delayMs` from now would be admitted by the inner
 * stages (false: an open circuit, a full concurrency limiter would refuse it at once, so it is not
 * waited for). `responded`: the last attempt got a response whose body still holds its slot.
 */
export type RetryGate = (ctx: CallContext, delayMs: number, responded: boolean) => boolean;

/**
 * Told that this call waits for a retry: calls `refuse` if, meanwhile, the retry comes to be
 * refused when it starts (its circuit opened), so the call ends now rather than sleeping out a
 * backoff it would spend for nothing. Returns what forgets the waiter.
 */
export type RetryWaker = (ctx: CallContext, refuse: () => void) => (() => void) | undefined;

/**
 * The retry stage. The policy (pure, in src/policies) schedules; this judges HTTP outcomes:
 * a request is sent again only when that is safe — an idempotent method, `idempotent: true`,
 * an `Idempotency-Key`, or a failure that provably happened before any byte left — and its body
 * can be replayed. Never retried: `CIRCUIT_OPEN`, `CONCURRENCY_LIMITED`, `RATE_LIMITED`, the
 * caller's abort, the call's own timeout or deadline. Discarded responses are drained.
 */
export function createRetryStage(
  policy: RetryPolicy<BulwarkResponse> | undefined,
  clientHttp: HttpRetrySettings,
  hedging: HedgingSettings | undefined,
  gate?: RetryGate,
  wakers: readonly RetryWaker[] = [],
): Stage {
  // The common call (no override, no hedging) runs with this one object.
  const clientRun: RetryRun | undefined =
    policy === undefined ? undefined : { policy, http: clientHttp, gate, wakers };
  return (ctx, next) => {
    const override = ctx.policies.retry;
    // No retry for this call: the request said false, or the client has none and the request brings none.
    const own = override === false ? undefined : override;
    const candidate = override === false ? undefined : (own?.policy ?? policy);
    if (candidate === undefined) {
      return hedging === undefined || !ctx.idempotent ? next(ctx) : hedged(ctx, next, hedging);
    }
    const attempt =
      hedging === undefined || !ctx.idempotent ? next : (c: CallContext) => hedged(c, next, hedging);
    // The first attempt runs outside the policy: most calls succeed, and only an answer that
    // might be retried pays for the policy's bookkeeping. The budget still counts every call.
    const budget = candidate.budget;
    if (budget instanceof RetryBudgets) budget.deposit(ctx.key);
    else budget?.deposit();
    const run =
      own === undefined && clientRun !== undefined
        ? clientRun
        : { policy: candidate, http: own?.http ?? clientHttp, gate, wakers };
    return firstAttempt(ctx, attempt, run);
  };
}

/** What a call's retries run with, once the call has a policy. */
interface RetryRun {
  readonly policy: RetryPolicy<BulwarkResponse>;
  readonly http: HttpRetrySettings;
  readonly gate: RetryGate | undefined;
  readonly wakers: readonly RetryWaker[];
}

/**
 * The first attempt, then the policy only when its outcome might be retried. One async frame:
 * a call allocates no closures here.
 */
async function firstAttempt(ctx: CallContext, attempt: StageNext, run: RetryRun): Promise<BulwarkResponse> {
  let response: BulwarkResponse;
  try {
    response = await attempt(ctx);
  } catch (error) {
    return retryFrom(ctx, attempt, run, undefined, error);
  }
  if (!run.http.statuses.has(response.status) && run.http.shouldRetry === undefined) return response;
  return retryFrom(ctx, attempt, run, response, undefined);
}

/** Hands the first attempt's outcome to the policy, which retries from there. */
function retryFrom(
  ctx: CallContext,
  attempt: StageNext,
  run: RetryRun,
  response: BulwarkResponse | undefined,
  error: unknown,
): Promise<BulwarkResponse> {
  const budget = run.policy.budget;
  const hooks = new HttpRetryHooks(
    ctx,
    run.http,
    run.gate,
    run.wakers,
    budget instanceof RetryBudgets ? budget.get(ctx.key) : budget,
  );
  let first = true;
  // The backoff listens to this rather than the caller's signal alone: cancelling the call
  // (the caller's abort, the client's close()) ends the wait and its timer at once.
  const wake = new AbortController();
  ctx.wake = wake;
  if (ctx.cancelled !== undefined) wake.abort(ctx.cancelled);
  return run.policy.run(
    () => {
      if (!first) return attempt(ctx);
      first = false;
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- replays the first attempt's own error
      return response === undefined ? Promise.reject(error) : Promise.resolve(response);
    },
    { signal: wake.signal, deadline: ctx.deadline, key: ctx.key, hooks, deposited: true },
  );
}

/** Judges one call's outcomes; one small object per call carries the request in hand. */
class HttpRetryHooks implements RetryHooks<unknown> {
  readonly #ctx: CallContext;
  readonly #http: HttpRetrySettings;
  readonly #gate: RetryGate | undefined;
  readonly #wakers: readonly RetryWaker[];
  readonly #budget: RetryBudget | undefined;

  /** Which header set the last hinted delay (`Retry-After`, or a RateLimit reset). */
  #hintSource: RetryHint['source'] | undefined = undefined;

  constructor(
    ctx: CallContext,
    http: HttpRetrySettings,
    gate: RetryGate | undefined,
    wakers: readonly RetryWaker[],
    budget: RetryBudget | undefined,
  ) {
    this.#ctx = ctx;
    this.#http = http;
    this.#gate = gate;
    this.#wakers = wakers;
    this.#budget = budget;
  }

  admits(delayMs: number, outcome: RetryOutcome<unknown>): boolean {
    return this.#gate === undefined || this.#gate(this.#ctx, delayMs, outcome.ok);
  }

  onWait(refuse: () => void): (() => void) | undefined {
    const wakers = this.#wakers;
    if (wakers.length === 0) return undefined;
    const forgets: (() => void)[] = [];
    for (const waker of wakers) {
      const forget = waker(this.#ctx, refuse);
      if (forget !== undefined) forgets.push(forget);
    }
    return () => {
      for (const forget of forgets) forget();
    };
  }

  classify(outcome: RetryOutcome<unknown>): RetryDecision {
    const ctx = this.#ctx;
    const response = outcome.ok ? (outcome.value as BulwarkResponse) : undefined;
    const error = outcome.ok ? undefined : outcome.error;
    // The caller's own code failed (a middleware inside, a key function): no retry can mend it.
    if (traitsOf(error)?.retry === 'never') return NO;
    const decision = this.#judge(response, error);
    const shouldRetry = this.#http.shouldRetry;
    if (shouldRetry === undefined) return decision;
    let user: boolean | undefined;
    try {
      user = shouldRetry(outcomeOf(ctx, response, error));
    } catch (thrown) {
      // Thrown out of the policy, which ends the call with it: the answer in hand is drained.
      response?.dump();
      throw callbackFailed('retry.shouldRetry', thrown);
    }
    if (user === undefined) return decision;
    if (!user) return NO;
    // The caller said so, but a stream body cannot be sent twice whatever anyone says.
    if (!ctx.bodyReplayable || ctx.cancelled !== undefined || ctx.runtime.closed) return NO;
    return decision.retry ? decision : { retry: true, reason: 'shouldRetry' };
  }

  #judge(response: BulwarkResponse | undefined, error: unknown): RetryDecision {
    const ctx = this.#ctx;
    // A closed client sends nothing new: the answer in hand is the call's answer.
    if (ctx.cancelled !== undefined || !ctx.bodyReplayable || ctx.runtime.closed) return NO;
    if (response !== undefined) {
      const status = response.status;
      const loadSignal = status === 429 || status === 503;
      if (loadSignal) this.#budget?.recordLoadSignal();
      if (!this.#http.statuses.has(status) || !ctx.idempotent) return NO;
      if (loadSignal && this.#budget !== undefined && pushedBack(status, this.#budget)) return NO;
      const hint = retryHintFromHeaders(response.headers, ctx.runtime.clock.now());
      // Only a quota's 429 waits on the long throttled base: a 503 without a hint is as often a
      // blip as a shedding server, and a second long wait there is the whole p99 of the call.
      const throttled = response.status === 429;
      this.#hintSource = hint?.source;
      if (hint !== undefined)
        return { retry: true, reason: String(response.status), throttled, hintMs: hint.delayMs };
      return { retry: true, reason: String(response.status), throttled };
    }
    if (!isBulwarkError(error) || ERROR_TRAITS[error.code].retry !== 'transient') return NO;
    // Nothing reached the wire (refused, DNS, a connect timeout): safe for any method.
    return ctx.idempotent || error.sent === false ? { retry: true, reason: retryReason(error) } : NO;
  }

  onRetry(event: RetryEvent<unknown>): void {
    const ctx = this.#ctx;
    const response = event.outcome.ok ? (event.outcome.value as BulwarkResponse) : undefined;
    // The discarded answer's body is drained so its connection goes back to the pool.
    response?.dump();
    const delaySource =
      event.source === 'backoff'
        ? 'backoff'
        : this.#hintSource === 'retry-after'
          ? 'retry-after'
          : 'rate-limit-reset';
    ctx.runtime.events.retry(ctx, event.attempt, event.delayMs, delaySource, {
      ...(response === undefined ? {} : { response }),
      ...(event.outcome.ok ? {} : { error: event.outcome.error }),
    });
  }

  onGiveUp(event: GiveUpEvent<unknown>): void {
    const ctx = this.#ctx;
    if (event.reason === 'budget') ctx.runtime.events.budgetExhausted(ctx, 'retry');
    else if (event.reason === 'deadline') ctx.runtime.events.deadlineExceeded(ctx, 'before-retry');
  }
}

const NO: RetryDecision = { retry: false };
/** The share of recent attempts answered 429/503 from which load signals are no longer retried… */
const PUSHBACK_SHARE = 0.2;
/** …once there are this many recent attempts: a cold client's first 503 is a blip, not a trend. */
const PUSHBACK_MIN_ATTEMPTS = 10;

/**
 * True when a load signal should come back at once rather than be retried: the upstream sheds a
 * good share of this key's recent attempts (its capacity is spent, so a retry only takes the
 * place of a fresh call and adds a wait and load), or a 429 is not the only one of late (a quota
 * spent again and again: waiting for the reset moves the call into a window fresh calls would
 * have used; queueing for a quota is the rate limiter's job, not retry's).
 */
function pushedBack(status: number, budget: RetryBudget): boolean {
  const { attempts, signals } = budget.pushback();
  if (status === 429 && signals > 1) return true;
  return attempts >= PUSHBACK_MIN_ATTEMPTS && signals >= PUSHBACK_SHARE * attempts;
}

/** The socket's own code for a `NETWORK` error (`ECONNRESET`...), else the error's code. */
function retryReason(error: BulwarkError): string {
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : error.code;
}

/**
 * Hedged attempts: after the delay, a second attempt races the first (idempotent calls only,
 * paid from the retry budget). Each runs on a fork of the call so the loser can be aborted
 * alone; the winner's attempt count is folded back into the call.
 */
async function hedged(
  ctx: CallContext,
  next: StageNext,
  settings: HedgingSettings,
): Promise<BulwarkResponse> {
  if (!ctx.idempotent || !ctx.bodyReplayable) return next(ctx);
  const forks: CallContext[] = [];
  const firstNumbers: number[] = [];
  const clock = ctx.runtime.clock;
  const started = clock.now();
  const delayMs =
    settings.delay === 'p95' ? () => settings.window.p95() ?? settings.fallbackDelay : settings.delay;
  try {
    const response = await hedge<BulwarkResponse>(
      (signal, index) => {
        const fork = forkContext(ctx);
        // Each fork makes one attempt: the n-th hedge is the call's attempt n + 1 of this round,
        // so attempt numbers (logs, `http.request.resend_count`) stay distinct across forks.
        fork.attempts = ctx.attempts + index;
        forks.push(fork);
        firstNumbers.push(fork.attempts);
        signal.addEventListener(
          'abort',
          () => {
            cancelCall(fork, signal.reason as BulwarkError);
          },
          { once: true },
        );
        if (index > 0) ctx.runtime.events.hedgeSpawned(ctx, index, clock.now() - started);
        return next(fork);
      },
      {
        delayMs,
        maxHedges: settings.maxHedges,
        clock,
        isAcceptable: (r) => r.status < 500 && r.status !== 429,
        dispose: (r) => {
          r.dump();
        },
        tryWithdraw: () => {
          const ok = settings.budgets === undefined || settings.budgets.tryWithdraw(ctx.key);
          if (!ok) ctx.runtime.events.budgetExhausted(ctx, 'hedge');
          return ok;
        },
        onSettled: (winner, hedges) => {
          if (hedges > 0) ctx.runtime.events.hedgeSettled(ctx, winner, hedges);
        },
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      },
    );
    settings.window.record(clock.now() - started);
    return response;
  } finally {
    let extra = 0;
    for (let i = 0; i < forks.length; i++) extra += (forks[i]?.attempts ?? 0) - (firstNumbers[i] ?? 0);
    ctx.attempts += extra;
  }
}
