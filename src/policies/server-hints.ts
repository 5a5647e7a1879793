/**
 * Parsers for the headers a server uses to say "come back later": `Retry-After` (RFC 9110), the
 * IETF RateLimit fields (`RateLimit`, `RateLimit-Policy`), the older draft's
 * `RateLimit-Limit/-Remaining/-Reset` and the vendor `X-RateLimit-*` trio.
 *
 * Header values are untrusted. Every parser here returns a finite, non-negative number of
 * milliseconds or `undefined` (garbage, negative, NaN), never throws, and never runs a regular
 * expression on more than a few dozen characters. A hint further away than {@link MAX_HINT_MS}
 * is read as exactly that: "not before next year" is an answer (give up now), not garbage.
 */
import { parseSfList, type SfItem, type SfValue } from './structured-fields.js';

/** Lowercase header names to values, as undici hands them over. */
export type HeaderRecord = Readonly<Record<string, string | string[] | undefined>>;

/** Hints further away than this (366 days) are read as this: far beyond any `maxRetryAfter`, so never waited for. */
export const MAX_HINT_MS = 366 * 86_400_000;

/** A server's "retry after this long", and which header said so. */
export interface RetryHint {
  readonly delayMs: number;
  readonly source: 'retry-after' | 'ratelimit' | 'x-ratelimit-reset';
}

/** What the server says about the caller's quota, for the rate limiter to hold its bucket. */
export interface RateLimitState {
  /** Requests left in the current window. */
  readonly remaining: number;
  /** Milliseconds until the quota is (at least partly) restored, when the server said. */
  readonly resetMs: number | undefined;
  /** The quota per window, when the server said. */
  readonly limit: number | undefined;
  /** The window length in milliseconds, when the server said. */
  readonly windowMs: number | undefined;
  /** Which family of headers it came from. */
  readonly source: 'ratelimit' | 'ratelimit-legacy' | 'x-ratelimit';
}

// The longest valid HTTP-date is 30 characters; anything far longer is not a hint.
const MAX_PLAIN_LENGTH = 64;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const LONG_DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const IMF_FIXDATE = /^([a-z]{3}), (\d{2}) ([a-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const RFC_850 = /^([a-z]{6,9}), (\d{2})-([a-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) gmt$/i;
const ASCTIME = /^([a-z]{3}) ([a-z]{3}) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/i;
// Above this a reset value is an epoch timestamp, not a delay (1e9 s is September 2001).
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MS_FROM = 1e12;

function first(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : Array.isArray(value) ? value[0] : undefined;
}

/** Parses `digits[.digits]` after trimming; anything else, or a long value, is `undefined`. */
function plainNumber(value: string | undefined): number | undefined {
  if (typeof value !== 'string' || value.length > MAX_PLAIN_LENGTH) return undefined;
  const s = value.trim();
  let dot = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && !dot && i > 0 && i < s.length - 1) dot = true;
    else if (c < 48 || c > 57) return undefined;
  }
  return s.length === 0 ? undefined : Number(s);
}

/** Clamps a delay to the contract: past means 0, too far means {@link MAX_HINT_MS}, NaN means `undefined`. */
function toDelay(ms: number): number | undefined {
  if (Number.isNaN(ms)) return undefined;
  if (ms > MAX_HINT_MS) return MAX_HINT_MS;
  return ms <= 0 ? 0 : Math.ceil(ms);
}

function dateParts(
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
): number | undefined {
  if (month < 0 || h > 23 || m > 59 || s > 60 || day < 1) return undefined;
  const ms = Date.UTC(year, month, day, h, m, s);
  // Date.UTC rolls 31 Feb over into March: refuse dates that do not exist.
  return new Date(ms).getUTCDate() === day || s === 60 ? ms : undefined;
}

/**
 * Parses an HTTP-date in any of the three RFC 9110 §5.6.7 forms (IMF-fixdate, RFC 850,
 * asctime) into epoch ms. Two-digit RFC 850 years more than 50 years ahead of `nowMs` are
 * read as the previous century, as RFC 9110 requires.
 */
export function parseHttpDate(value: string, nowMs: number): number | undefined {
  if (value.length > MAX_PLAIN_LENGTH) return undefined;
  const s = value.trim();
  let m = IMF_FIXDATE.exec(s);
  if (m !== null) {
    const [, day = '', date = '', mon = '', year = '', h = '', min = '', sec = ''] = m;
    if (!DAYS.includes(day.toLowerCase())) return undefined;
    return dateParts(+year, MONTHS.indexOf(mon.toLowerCase()), +date, +h, +min, +sec);
  }
  m = RFC_850.exec(s);
  if (m !== null) {
    const [, day = '', date = '', mon = '', yy = '', h = '', min = '', sec = ''] = m;
    if (!LONG_DAYS.includes(day.toLowerCase())) return undefined;
    const nowYear = Number.isFinite(nowMs) ? new Date(nowMs).getUTCFullYear() : 2000;
    let year = nowYear - (nowYear % 100) + Number(yy);
    if (year > nowYear + 50) year -= 100;
    return dateParts(year, MONTHS.indexOf(mon.toLowerCase()), +date, +h, +min, +sec);
  }
  m = ASCTIME.exec(s);
  if (m !== null) {
    const [, day = '', mon = '', date = '', h = '', min = '', sec = '', year = ''] = m;
    if (!DAYS.includes(day.toLowerCase())) return undefined;
    return dateParts(+year, MONTHS.indexOf(mon.toLowerCase()), +date.trim(), +h, +min, +sec);
  }
  return undefined;
}

/**
 * Parses `Retry-After`: delay-seconds (decimals tolerated, as AWS does) or an HTTP-date.
 * @param nowMs the current time, epoch ms, for dates
 * @returns the delay in ms (a past date is 0, one past {@link MAX_HINT_MS} is {@link MAX_HINT_MS}), or `undefined` for garbage or negative
 * @example parseRetryAfter('120', now) // 120_000
 * @example parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now) // 0: in the past
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string' || value.length > MAX_PLAIN_LENGTH) return undefined;
  const seconds = plainNumber(value);
  if (seconds !== undefined) return toDelay(seconds * 1000);
  const date = parseHttpDate(value, nowMs);
  return date === undefined ? undefined : toDelay(date - nowMs);
}

/**
 * Parses a reset value that may be delta seconds, epoch seconds (GitHub) or epoch ms: values of
 * 1e12 and up are epoch ms, 1e9 and up epoch seconds, smaller ones seconds from now.
 */
export function parseResetValue(value: string | undefined, nowMs: number): number | undefined {
  const n = plainNumber(value);
  if (n === undefined) return undefined;
  if (n >= EPOCH_MS_FROM) return toDelay(n - nowMs);
  if (n >= EPOCH_SECONDS_FROM) return toDelay(n * 1000 - nowMs);
  return toDelay(n * 1000);
}

/** A non-negative Integer, the only value the RateLimit draft allows for `r`, `t`, `q` and `w`. */
const count = (v: SfValue | undefined): number | undefined =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;

/** `params[name]`: its count, `undefined` when absent, or {@link MALFORMED} when present but not a count. */
function countParam(item: SfItem, name: string): number | undefined | typeof MALFORMED {
  const value = item.params.get(name);
  if (value === undefined) return undefined;
  return count(value) ?? MALFORMED;
}

const MALFORMED = Symbol('malformed');

interface ParsedLimit {
  readonly name: string | undefined;
  readonly remaining: number;
  readonly resetMs: number | undefined;
}

/**
 * The members of a `RateLimit` field. A malformed field is ignored whole, as the draft requires:
 * not a Structured Field List, or a member whose `r` is missing or whose `r` or `t` is not a
 * non-negative Integer (a decimal, a string, a boolean).
 */
function rateLimitItems(value: string | undefined): ParsedLimit[] | undefined {
  const items = value === undefined ? undefined : parseSfList(value);
  if (items === undefined || items.length === 0) return undefined;
  const out: ParsedLimit[] = [];
  for (const item of items) {
    const remaining = countParam(item, 'r');
    const t = countParam(item, 't');
    if (remaining === undefined || remaining === MALFORMED || t === MALFORMED) return undefined;
    const name = typeof item.value === 'string' ? item.value : undefined;
    out.push({ name, remaining, resetMs: t === undefined ? undefined : toDelay(t * 1000) });
  }
  return out;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * The server's retry hint: `Retry-After` wins (as the RateLimit draft requires), then the reset of
 * an exhausted `RateLimit` (or older `RateLimit-Remaining: 0` + `RateLimit-Reset`), then
 * `X-RateLimit-Reset` with `X-RateLimit-Remaining: 0`. A reset is only a hint when nothing remains.
 * @example retryHintFromHeaders({ 'retry-after': '3' }, now) // { delayMs: 3000, source: 'retry-after' }
 */
export function retryHintFromHeaders(headers: HeaderRecord, nowMs: number): RetryHint | undefined {
  const retryAfter = parseRetryAfter(first(headers['retry-after']), nowMs);
  if (retryAfter !== undefined) return { delayMs: retryAfter, source: 'retry-after' };

  const limits = rateLimitItems(joined(headers.ratelimit));
  if (limits !== undefined) {
    // Every exhausted policy must recover before a request can pass: wait for the latest.
    let delay: number | undefined;
    for (const l of limits) {
      if (l.remaining === 0 && l.resetMs !== undefined && (delay === undefined || l.resetMs > delay))
        delay = l.resetMs;
    }
    if (delay !== undefined) return { delayMs: delay, source: 'ratelimit' };
  }
  if (plainNumber(first(headers['ratelimit-remaining'])) === 0) {
    const reset = parseResetValue(first(headers['ratelimit-reset']), nowMs);
    if (reset !== undefined) return { delayMs: reset, source: 'ratelimit' };
  }
  if (plainNumber(first(headers['x-ratelimit-remaining'])) === 0) {
    const reset = parseResetValue(first(headers['x-ratelimit-reset']), nowMs);
    if (reset !== undefined) return { delayMs: reset, source: 'x-ratelimit-reset' };
  }
  return undefined;
}

interface Policy {
  readonly limit: number | undefined;
  readonly windowMs: number | undefined;
}

const NO_POLICY: Policy = { limit: undefined, windowMs: undefined };

function windowOf(item: SfItem | undefined): number | undefined | typeof MALFORMED {
  if (item === undefined) return undefined;
  const w = countParam(item, 'w');
  return w === undefined || w === MALFORMED ? w : w === 0 ? undefined : toDelay(w * 1000);
}

/**
 * `RateLimit-Policy`: quota `q` and window `w` of the policy named `name`, else of the first. A
 * field whose `q` or `w` is not a non-negative Integer is malformed and ignored.
 */
function namedPolicy(value: string | undefined, name: string | undefined): Policy {
  const items = value === undefined ? undefined : parseSfList(value);
  if (items === undefined) return NO_POLICY;
  const policies: Policy[] = [];
  for (const item of items) {
    const limit = countParam(item, 'q');
    const windowMs = windowOf(item);
    if (limit === MALFORMED || windowMs === MALFORMED) return NO_POLICY;
    policies.push({ limit, windowMs });
  }
  const named = items.findIndex((item) => item.value === name);
  return policies[named === -1 ? 0 : named] ?? NO_POLICY;
}

/** Older drafts: `RateLimit-Limit: 100` or `100, 100;w=60`, the first member being the quota. */
function legacyPolicy(value: string | undefined): Policy {
  const items = value === undefined ? undefined : parseSfList(value);
  if (items === undefined) return NO_POLICY;
  const windowMs = windowOf(items.find((item) => item.params.has('w')));
  if (windowMs === MALFORMED) return NO_POLICY;
  return { limit: count(items[0]?.value), windowMs };
}

/**
 * The quota state the server reported, for the rate limiter to hold its bucket: the most
 * restrictive `RateLimit` member with its `RateLimit-Policy`, else the older draft's
 * `RateLimit-Limit/-Remaining/-Reset`, else `X-RateLimit-*`. `undefined` when no remaining count
 * was given.
 * @example rateLimitStateFromHeaders({ ratelimit: '"default";r=0;t=30', 'ratelimit-policy': '"default";q=100;w=60' }, now)
 * // { remaining: 0, resetMs: 30_000, limit: 100, windowMs: 60_000, source: 'ratelimit' }
 */
export function rateLimitStateFromHeaders(headers: HeaderRecord, nowMs: number): RateLimitState | undefined {
  const limits = rateLimitItems(joined(headers.ratelimit));
  if (limits !== undefined) {
    let worst = limits[0] as ParsedLimit;
    for (const l of limits) {
      if (
        l.remaining < worst.remaining ||
        (l.remaining === worst.remaining && (l.resetMs ?? 0) > (worst.resetMs ?? 0))
      ) {
        worst = l;
      }
    }
    const policy = namedPolicy(joined(headers['ratelimit-policy']), worst.name);
    return { remaining: worst.remaining, resetMs: worst.resetMs, ...policy, source: 'ratelimit' };
  }
  const legacy = plainNumber(first(headers['ratelimit-remaining']));
  if (legacy !== undefined) {
    const policy = legacyPolicy(joined(headers['ratelimit-limit']));
    const resetMs = parseResetValue(first(headers['ratelimit-reset']), nowMs);
    return { remaining: legacy, resetMs, ...policy, source: 'ratelimit-legacy' };
  }
  const remaining = plainNumber(first(headers['x-ratelimit-remaining']));
  if (remaining === undefined) return undefined;
  return {
    remaining,
    resetMs: parseResetValue(first(headers['x-ratelimit-reset']), nowMs),
    limit: plainNumber(first(headers['x-ratelimit-limit'])),
    windowMs: undefined,
    source: 'x-ratelimit',
  };
}
