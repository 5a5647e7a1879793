/**
 * `bulwark/policies`: the policies on their own, usable around any async function (no HTTP, no
 * undici), each with the one `execute(fn, { signal, deadline, key })` and composed by `wrap`:
 * retry with backoff and a budget, hedging, the circuit breaker, the rate limiter, the
 * concurrency limiter, the timeout, deadlines, and the store contracts a shared limit or circuit
 * implements.
 */
export { wrap, type Policy, type PolicyWrap, type PolicyContext, type ExecuteOptions } from './policy.js';
export { RetryPolicy, retryPolicy, type RetryOptions, type RetryAttemptContext } from './retry.js';
export { RetryBudget, RetryBudgets, type RetryBudgetOptions } from './retry-budget.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { parseRetryAfter, retryHintFromHeaders, rateLimitStateFromHeaders } from './server-hints.js';
export {
  hedge,
  HedgePolicy,
  hedgePolicy,
  type HedgeOptions,
  type HedgePolicyOptions,
  type HedgeAttemptContext,
} from './hedging.js';
export { TimeoutPolicy, timeoutPolicy, type TimeoutPolicyOptions } from './timeout.js';
export {
  CircuitBreaker,
  circuitOpenError,
  type CircuitBreakerOptions,
  type CircuitExecuteOptions,
  type CircuitState,
  type CircuitStateChange,
  type CircuitSnapshot,
} from './circuit-breaker.js';
export { CircuitBreakers, type CircuitBreakersOptions } from './circuit-breakers.js';
export {
  RateLimiter,
  type RateLimiterOptions,
  type RateLimitExecuteOptions,
  type RateLimiterSnapshot,
  type RateLimitKeySnapshot,
} from './rate-limiter.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  type LimitAlgorithm,
  type ConcurrencySnapshot,
} from './concurrency/index.js';
export {
  withDeadline,
  deadlineFromRequest,
  currentDeadline,
  remainingTime,
  type WithDeadlineOptions,
} from './deadline.js';
export { MemoryStore } from './memory-store.js';
export type {
  RateLimitStore,
  CircuitStore,
  GcraParams,
  RateLimitDecision,
  TakeRequest,
  SharedCircuitState,
} from './store-contract.js';
export type { CacheStore, CacheEntry } from './cache-store.js';
