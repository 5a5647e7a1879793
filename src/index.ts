/**
 * bulwark: a resilient HTTP client for Node.js. The root is what a caller of `createClient` needs
 * (40 names); the standalone policies and `currentDeadline`/`remainingTime` live in
 * `bulwark/policies`, the stores in `bulwark/redis`, the diagnostics channels and redaction in
 * `bulwark/observability`, the test kit in `bulwark/testing`. The per-request override types are
 * reached through `RequestOptions` (`RequestOptions['retry']`).
 */
export { createClient, type SafeResult, type ClientInspection } from './client/client.js';
export type { Client } from './client/client.js';
export type { CircuitHandle } from './client/circuit-handle.js';
export type {
  ClientOptions,
  TimeoutOptions,
  DeadlineOptions,
  PoolOptions,
  TelemetryClientOptions,
  LoggingOptions,
} from './client/options.js';
export type { RetryClientOptions, HedgingOptions } from './pipeline/retry-options.js';
export type { CircuitBreakerClientOptions } from './pipeline/circuit-breaker-options.js';
export type { RateLimitClientOptions } from './pipeline/rate-limit-options.js';
export type { ConcurrencyClientOptions } from './pipeline/concurrency-options.js';
export type { CacheOptions, RequestCacheMode } from './pipeline/cache-options.js';
export type { RequestOptions, VerbOptions, UrlVerbOptions } from './client/request-options.js';
export type { HeadersInit } from './client/headers.js';
export type { BulwarkResponse, ResponseHeaders } from './http/response.js';
export { BulwarkError, isBulwarkError, type BulwarkErrorCode, type BulwarkErrorOf } from './errors.js';
export { withDeadline, deadlineFromRequest } from './policies/deadline.js';
export type { Middleware, Next, RequestContext } from './pipeline/types.js';
export { presets, type Preset } from './client/presets.js';
export { MemoryCacheStore, type MemoryCacheStoreOptions } from './stores/memory-cache.js';

// Destination guards, the building blocks of `allowedHosts` / `blockPrivateIps` for undici directly.
export { guardedLookup, checkConnectedSocket, isPrivateAddress } from './transport/destination-guard.js';
