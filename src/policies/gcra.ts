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
 * take:
 *   base    = max(tat, nowUs)
 *   newTat  = base + c × T
 *   allowAt = newTat − B × T                 earliest time this request conforms
 *   wait    = max(0, allowAt − nowUs)
 *   if wait ≤ W: allowed, store newTat,      waitMs       = ceil(wait / 1000)
 *   else:        refused, store nothing,     retryAfterMs = ceil(wait / 1000)
 *   remaining = max(0, floor((nowUs + B × T − max(stored, nowUs)) / T))       (≤ B by construction)
 *               where `stored` is the TAT after the decision (newTat, or tat when refused)
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
import type { GcraParams, RateLimitDecision } from '../stores/store.js';

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
  const base = stored > nowUs ? stored : nowUs;
  // base ≥ nowUs, so this never exceeds burst.
  const tokens = Math.floor((nowUs + burst * t - base) / t);
  return tokens < 0 ? 0 : tokens;
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
  const base = tat > nowUs ? tat : nowUs;
  const newTat = base + cost * t;
  const wait = newTat - burst * t - nowUs;
  if (wait <= toMicros(maxWaitMs)) {
    return {
      allowed: true,
      waitMs: wait > 0 ? Math.ceil(wait / 1000) : 0,
      remaining: remainingAt(newTat, nowUs, t, burst),
      tat: newTat,
    };
  }
  return {
    allowed: false,
    retryAfterMs: Math.ceil(wait / 1000),
    remaining: remainingAt(tat, nowUs, t, burst),
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
