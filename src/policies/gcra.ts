/**
 * The Generic Cell Rate Algorithm: a token bucket kept as one number per key, the theoretical
 * arrival time (TAT) of the next request at the steady rate. Pure functions, no state, so the
 * in-memory store and the Redis Lua script compute exactly the same decisions.
 *
 * Units. Every time here is an integer number of MICROSECONDS (`nowUs`, `tat`, `T`, `W`), so the
 * arithmetic is exact in IEEE doubles (JavaScript numbers and Lua 5.1 numbers alike, epoch µs is
 * below 2^53) and a bucket drained at t is exactly full again at t + burst × interval. Redis' `TIME`
 * gives µs directly. Durations returned to callers are whole milliseconds, rounded up.
 *
 * Inputs:
 *   nowUs = floor(nowMs × 1000)
 *   tat   = the stored TAT, µs; a missing key is 0 (any tat ≤ now means a full bucket)
 *   T     = max(1, round(emissionIntervalMs × 1000))     µs between two requests
 *   B     = burst                                          requests allowed at once
 *   c     = cost                                           tokens this request takes
 *   W     = floor(maxWaitMs × 1000)                        longest wait accepted, µs
 *
 * take (written with the debt, max(tat, nowUs) − nowUs, the time until the bucket is full again):
 *   debt    = max(tat − nowUs, 0)
 *   newDebt = debt + c × T                   newTat = nowUs + newDebt
 *   wait    = newDebt − B × T                allowAt − nowUs: this request conforms after `wait`
 *   if wait ≤ W: allowed, store newTat,      waitMs       = ceil(max(wait, 0) / 1000)
 *   else:        refused, store nothing,     retryAfterMs = ceil(wait / 1000)
 *   remaining = max(0, floor((B × T − debtAfter) / T))       (≤ B by construction)
 *               where `debtAfter` is newDebt when allowed, debt when refused
 *
 * hold (nothing is granted before nowUs + F, F = floor(forMs × 1000)):
 *   tat' = max(tat, nowUs + F + (B − 1) × T)
 * The bucket restarts empty at the end of the hold and refills at the steady rate, so every
 * process that saw the same server hint does not burst at the same instant.
 *
 * A bucket whose TAT ≤ now is equivalent to a full one: stores may delete it (the Redis store
 * gives each key a TTL that ends just after its TAT, for the same effect).
 *
 * Waiting reserves the slot: a second caller gets a later TAT, so waiters leave in order, one per
 * interval, with no thundering herd. Rates above one request per microsecond are capped there.
 */
import type { GcraParams, RateLimitDecision } from './store-contract.js';

/** A decision plus the TAT to store (unchanged when refused). */
export type GcraResult = RateLimitDecision & {
  /** The TAT to store after this decision, µs. */
  readonly tat: number;
};

/** What a bucket holds right now, without taking from it. */
export interface GcraState {
  /** Requests (of cost 1) that could go at once, 0..burst. */
  readonly remaining: number;
  /** Milliseconds until the next token is free; 0 when `remaining` > 0. */
  readonly nextFreeMs: number;
}

/** Milliseconds to integer microseconds, the unit of every TAT. */
export function toMicros(ms: number): number {
  return Math.floor(ms * 1000);
}

/** The emission interval `T` in integer microseconds, at least 1. */
export function intervalMicros(params: GcraParams): number {
  return Math.max(1, Math.round(params.emissionIntervalMs * 1000));
}

function remainingAt(stored: number, nowUs: number, t: number, burst: number): number {
  return remainingWith(stored > nowUs ? stored - nowUs : 0, t, burst);
}

/** Whole requests left when the stored TAT is `debtUs` ahead of now (≥ 0, so never above burst). */
function remainingWith(debtUs: number, t: number, burst: number): number {
  const tokens = Math.floor((burst * t - debtUs) / t);
  return tokens < 0 ? 0 : tokens;
}

/**
 * The decision as callers see it, from the µs quantities of a take: `waitUs` (allowAt − now) and
 * `debtUs` (the stored TAT after the decision minus now, 0 when that TAT has passed). The Redis
 * store's script returns these two numbers and finishes here, with the rounding of {@link gcraTake}.
 */
export function gcraDecision(
  allowed: boolean,
  waitUs: number,
  debtUs: number,
  t: number,
  burst: number,
): RateLimitDecision {
  const remaining = remainingWith(debtUs, t, burst);
  if (allowed) return { allowed: true, waitMs: waitUs > 0 ? Math.ceil(waitUs / 1000) : 0, remaining };
  return { allowed: false, retryAfterMs: Math.ceil(waitUs / 1000), remaining };
}

/**
 * Decides one request: admitted now, admitted after a reserved wait of at most `maxWaitMs`, or refused.
 * @param tat the stored TAT in µs (0 for a new key)
 * @param nowUs the current time in µs ({@link toMicros})
 * @param cost tokens to take (a positive integer)
 */
export function gcraTake(
  tat: number,
  nowUs: number,
  params: GcraParams,
  cost: number,
  maxWaitMs: number,
): GcraResult {
  const t = intervalMicros(params);
  const burst = params.burst;
  // debt = max(tat, now) − now: how far the bucket is from full, µs.
  const debt = tat > nowUs ? tat - nowUs : 0;
  const newDebt = debt + cost * t;
  const wait = newDebt - burst * t;
  if (wait <= toMicros(maxWaitMs)) {
    return {
      allowed: true,
      waitMs: wait > 0 ? Math.ceil(wait / 1000) : 0,
      remaining: remainingWith(newDebt, t, burst),
      tat: nowUs + newDebt,
    };
  }
  return {
    allowed: false,
    retryAfterMs: Math.ceil(wait / 1000),
    remaining: remainingWith(debt, t, burst),
    tat,
  };
}

/** The TAT after a hold of `forMs`: no request (of cost 1) conforms before `now + forMs`. */
export function gcraHold(tat: number, nowUs: number, params: GcraParams, forMs: number): number {
  const held = nowUs + toMicros(forMs) + (params.burst - 1) * intervalMicros(params);
  return held > tat ? held : tat;
}

/** The state of a bucket at `nowUs`, for inspect. */
export function gcraState(tat: number, nowUs: number, params: GcraParams): GcraState {
  const t = intervalMicros(params);
  const remaining = remainingAt(tat, nowUs, t, params.burst);
  if (remaining > 0) return { remaining, nextFreeMs: 0 };
  return { remaining, nextFreeMs: Math.ceil((tat + t - params.burst * t - nowUs) / 1000) };
}
