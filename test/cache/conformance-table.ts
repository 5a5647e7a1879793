/**
 * The shape of the cache conformance table and the builders its cases are written with: each case
 * names the public case it follows (cache-tests.fyi ids, http-cache-semantics test titles).
 */
import type { BulwarkErrorCode } from '../../src/index.js';

/** Header values; `@+N` / `@-N` / `@0` become the HTTP date N seconds from the virtual clock's now, `~` the case's path. */
export type Headers = Record<string, string | string[]>;

/** What the loopback server answers one step: a response, a dropped connection, or nothing at all. */
export type Reply = { status?: number; headers?: Headers; body?: string } | 'close' | 'hang';

export interface Expect {
  /** `res.cache`; `null` for a call the cache left alone (unsafe method, `cache: false`, own conditionals). */
  cache?: 'hit' | 'stale' | 'revalidated' | 'miss' | null;
  status?: number;
  /** The body: by default the letter of the step whose reply it is (A, B, C...). */
  body?: string;
  /** Whether the step reached the server before its answer came. @default true unless cache is hit or stale */
  sent?: boolean;
  /** Conditional headers the request reached the server with (`undefined`: not sent). */
  conditional?: Record<string, string | undefined>;
  /** Response headers the caller sees (`undefined`: absent). */
  headers?: Record<string, string | undefined>;
  /** The call rejects with this code instead. */
  error?: BulwarkErrorCode;
}

export interface Step {
  /** Seconds the virtual clock moves before the request. */
  advance?: number;
  method?: string;
  /** Appended to the case's path. */
  path?: string;
  headers?: Record<string, string>;
  mode?: 'no-cache' | 'force-cache' | 'only-if-cached' | false;
  /** The server's answer when asked. @default 200 with the case's headers, body = the step's letter */
  reply?: Reply;
  expect: Expect;
  /** Wait for the background revalidation this step starts before the next step. */
  background?: boolean;
}

export interface ConformanceCase {
  /** The public case followed: `suite: case id or title`. */
  follows: string;
  /** One of the deviations of undici 7's interceptor that issue #19 lists, when it is. */
  deviation?: string;
  /** Where RFC 9111 leaves room and bulwark takes a reading other than the public case's (docs/caching.md). */
  reading?: string;
  shared?: boolean;
  /** The client's `cache.staleIfError`, ms. */
  staleIfError?: number;
  /** An attempt timeout (ms of the virtual clock) for steps whose server hangs. */
  attemptTimeout?: number;
  steps: Step[];
}

export const HIT: Expect = { cache: 'hit', body: 'A', sent: false };
export const MISS: Expect = { cache: 'miss', body: 'B', sent: true };
export const STALE: Expect = { cache: 'stale', body: 'A', sent: false };

export const CT = 'cache-tests';
export const HCS = 'http-cache-semantics';

interface PairOptions extends Partial<Omit<ConformanceCase, 'follows' | 'steps'>> {
  /** The first request's headers. */
  first?: Record<string, string>;
  /** Options of the second step. */
  second?: Partial<Step>;
}

/**
 * The common shape: the server answers `headers` (200 unless `status`), the clock moves
 * `advance` seconds, and a second GET expects `expect`.
 */
export function pair(
  follows: string,
  headers: Headers,
  advance: number,
  expect: Expect,
  options: PairOptions = {},
): ConformanceCase {
  const { first, second, ...rest } = options;
  return {
    follows,
    ...rest,
    steps: [
      { headers: first ?? {}, reply: { headers }, expect: { sent: true } },
      { advance, reply: { headers }, ...second, expect },
    ],
  };
}

/** A first answer of `status` with `headers`, then a second GET after `advance` seconds. */
export function statusPair(
  follows: string,
  status: number,
  headers: Headers,
  advance: number,
  expect: Expect,
): ConformanceCase {
  const body = status === 204 || status === 304 ? '' : undefined;
  const reply = (letter: string): Reply => ({ status, headers, body: body ?? letter });
  return {
    follows,
    steps: [
      { reply: reply('A'), expect: { status, sent: true, body: body ?? 'A' } },
      { advance, reply: reply('B'), expect: { ...expect, status, ...(body === undefined ? {} : { body }) } },
    ],
  };
}

/** Stored `headers`, stale after `advance` s, revalidated: the server answers `reply`. */
export function revalidation(
  follows: string,
  headers: Headers,
  advance: number,
  reply: Reply,
  expect: Expect,
  more: Partial<ConformanceCase> & { then?: Step } = {},
): ConformanceCase {
  const { then, ...rest } = more;
  return {
    follows,
    ...rest,
    steps: [
      { reply: { headers }, expect: { sent: true } },
      { advance, reply, expect },
      ...(then === undefined ? [] : [then]),
    ],
  };
}
