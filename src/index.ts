/**
 * bulwark: a resilient HTTP client for Node.js. This file is the whole public surface.
 */
export {
  createClient,
  Client,
  type SafeResult,
  type SafeVerbs,
  type ClientInspection,
} from './client/client.js';
export type { ClientOptions, TimeoutOptions, DeadlineOptions, PoolOptions } from './client/options.js';
export type { RequestOptions, VerbOptions } from './client/request-options.js';
export { BulwarkResponse, type ResponseHeaders } from './client/response.js';
export type { HeadersInit } from './client/headers.js';
export type { QueryInit, PathParams } from './client/url.js';
export { BulwarkError, isBulwarkError, type BulwarkErrorCode, type BulwarkErrorFields } from './errors.js';
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
