/**
 * bulwark: a resilient HTTP client for Node.js. This file is the whole public surface.
 */
export {
  createClient,
  Client,
  type SafeResult,
  type SafeVerbs,
  type ClientInspection,
  type RetryInspection,
} from './client/client.js';
export type { CircuitHandle } from './client/circuit-handle.js';
export type { ClientOptions, TimeoutOptions, DeadlineOptions, PoolOptions } from './client/options.js';
export type {
  RequestOptions,
  VerbOptions,
  UrlVerbOptions,
  RequestRetryOptions,
  RequestCircuitBreakerOptions,
  RequestRateLimitOptions,
} from './client/request-options.js';
export { BulwarkResponse, type ResponseHeaders } from './http/response.js';
export type { HeadersInit } from './client/headers.js';
export type { QueryInit, PathParams } from './client/url.js';
export {
  BulwarkError,
  isBulwarkError,
  type BulwarkErrorCode,
  type BulwarkErrorFields,
  type BulwarkErrorOf,
  type BulwarkErrorDetails,
  type NetworkErrorCause,
} from './errors.js';
export {
  withDeadline,
  deadlineFromRequest,
  currentDeadline,
  remainingTime,
  type WithDeadlineOptions,
} from './policies/deadline.js';
export type { Middleware, Next, CallContext, RequestBody } from './pipeline/types.js';
export type { Transport, PoolStats } from './transport/attempt.js';
export { Attempt } from './transport/attempt.js';
export { systemClock, type Clock, type RandomSource, type TimerHandle } from './clock.js';
export type { TelemetryClientOptions, LoggingOptions } from './client/options.js';
export type {
  RetryClientOptions,
  CircuitBreakerClientOptions,
  RateLimitClientOptions,
  ConcurrencyClientOptions,
  HedgingOptions,
} from './client/policies.js';
export type { AttemptOutcome } from './pipeline/outcome.js';

// Policies on their own, usable around any async function.
export { RetryPolicy, retryPolicy, type RetryOptions } from './policies/retry.js';
export { RetryBudget, RetryBudgets, type RetryBudgetOptions } from './policies/retry-budget.js';
export { backoffDelay, type BackoffOptions } from './policies/backoff.js';
export { parseRetryAfter, retryHintFromHeaders, rateLimitStateFromHeaders } from './policies/server-hints.js';
export { hedge, type HedgeOptions } from './policies/hedging.js';
export {
  CircuitBreaker,
  circuitOpenError,
  type CircuitState,
  type CircuitSnapshot,
} from './policies/circuit-breaker.js';
export { CircuitBreakers } from './policies/circuit-breakers.js';
export {
  RateLimiter,
  type RateLimiterOptions,
  type RateLimiterSnapshot,
  type RateLimitKeySnapshot,
} from './policies/rate-limiter.js';
export {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  type LimitAlgorithm,
  type ConcurrencySnapshot,
} from './policies/concurrency/index.js';
export { MemoryStore } from './policies/memory-store.js';
export { MemoryCacheStore, type MemoryCacheStoreOptions } from './stores/memory-cache.js';
export type { CacheStore, CacheEntry } from './policies/cache-store.js';
export type { CacheOptions, RequestCacheMode } from './client/cache-options.js';
export type {
  RateLimitStore,
  CircuitStore,
  GcraParams,
  RateLimitDecision,
  TakeRequest,
  SharedCircuitState,
} from './policies/store-contract.js';

// Observability.
export { Redactor, defaultRedactor, type RedactorOptions } from './observability/redact.js';
export type { Logger, LogLevelSetting } from './observability/logger.js';
export type { SpanNameRequest } from './observability/otel.js';
export { CHANNEL_NAMES } from './observability/channels.js';
export type {
  RequestChannelContext,
  RetryMessage,
  CircuitMessage,
  RateLimitMessage,
  ConcurrencyMessage,
  DeadlineMessage,
  HedgeMessage,
  RedirectMessage,
  BudgetMessage,
  AttemptMessage,
} from './observability/channels.js';

// Destination guards.
export {
  guardedLookup,
  checkConnectedSocket,
  isPrivateAddress,
  hostAllowed,
} from './transport/destination-guard.js';
export { presets, type Preset } from './client/presets.js';
