import type { Clock, RandomSource } from '../clock.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { OriginPoolOptions, TlsOptions } from '../transport/undici-transport.js';
import type { HeadersInit } from './headers.js';

/** Attempt and total timeouts in ms; `false` disables one. */
export interface TimeoutOptions {
  /**
   * Longest time one attempt may take, from send to the end of its response body.
   * @default 10_000
   */
  attempt?: number | false;
  /**
   * Longest time the whole call may take, retries and backoff included. Validated ≥ `attempt`.
   * @default 30_000
   */
  total?: number | false;
}

/** How the remaining time travels downstream. */
export interface DeadlineOptions {
  /**
   * Header carrying the remaining milliseconds, recomputed for each attempt.
   * @default 'deadline'
   */
  header?: string;
}

/** Connection pools of the client (never shared with another client). */
export interface PoolOptions extends OriginPoolOptions {
  /** Per-origin overrides, keyed by origin (`https://uploads.example.com`). */
  origins?: Record<string, OriginPoolOptions>;
  /** TLS settings; certificate verification is on unless `tls.rejectUnauthorized` is `false`. */
  tls?: TlsOptions;
  /** An HTTP(S) proxy every request goes through. */
  proxy?: string;
}

/** Options of `createClient`. Every part has a default; nothing is required. */
export interface ClientOptions {
  /**
   * Name of the client in spans, metrics, logs and state keys.
   * @default 'default'
   */
  name?: string;
  /** Base URL for `path`s (`https://api.github.com`). Without it, calls pass `url`. */
  baseUrl?: string | URL;
  /** Headers sent with every request. */
  headers?: HeadersInit;
  /** Timeouts; `false` disables both. @default { attempt: 10_000, total: 30_000 } */
  timeout?: TimeoutOptions | false;
  /** Propagation of the remaining budget downstream; `false` sends nothing. @default { header: 'deadline' } */
  deadline?: DeadlineOptions | false;
  /** Connection pools. @default { connections: 50, pipelining: 1 } */
  pool?: PoolOptions;
  /**
   * Reject 4xx and 5xx responses with `HTTP_STATUS` instead of resolving them.
   * @default false
   */
  throwHttpErrors?: boolean;
  /**
   * Largest response body accepted (decoded), bytes.
   * @default 52_428_800
   */
  maxResponseBytes?: number;
  /**
   * Header carrying the call's correlation id; `false` sends none.
   * @default 'x-request-id'
   */
  requestIdHeader?: string | false;
  /** User middleware, outermost first; runs outside every built-in stage. */
  use?: readonly Middleware[];
  /** Replaces the network (the mock transport or a cassette of `bulwark/testing`). */
  transport?: Transport;
  /** Time source (the virtual clock of `bulwark/testing` in tests). @default systemClock */
  clock?: Clock;
  /** Random source in [0, 1). @default Math.random */
  random?: RandomSource;
  /**
   * Refuse every real request with `TEST_MODE_BLOCKED`. Also on when `BULWARK_TEST_MODE=1`.
   * @default false
   */
  testMode?: boolean;
}
