/**
 * The `timeout` option of a client (over the defaults) and of a request (over the client's): one
 * rule for both, so that a total given alone is valid everywhere. And the client's `deadline`,
 * how the time left travels downstream. Each with its type, its keys and its parse.
 */
import { invalidOption } from '../errors.js';
import {
  checkDuration,
  checkKeys,
  checkObject,
  checkString,
  isRecord,
  optionKeys,
  validationError,
  type Scope,
} from '../validate.js';

/**
 * Attempt and total timeouts in ms; `false` disables one.
 * @example timeout: { attempt: 2_000, total: 5_000 }
 */
export interface TimeoutOptions {
  /**
   * Longest time one attempt may take in ms, from send to the end of its response body, from 1
   * to 2_147_483_647.
   * @default 10_000, or `total` when that is smaller
   */
  attempt?: number | false;
  /**
   * Longest time the whole call may take in ms, retries and backoff included, from 1 to
   * 2_147_483_647. Validated ≥ `attempt`.
   * @default 30_000
   */
  total?: number | false;
}

/**
 * How the remaining time travels downstream.
 * @example deadline: { header: 'x-deadline-ms' }
 */
export interface DeadlineOptions {
  /**
   * Header carrying the remaining milliseconds, recomputed for each attempt.
   * @default 'deadline'
   */
  header?: string;
}

const TIMEOUT_KEYS = optionKeys<TimeoutOptions>()(['attempt', 'total']);
const DEADLINE_KEYS = optionKeys<DeadlineOptions>()(['header']);

/** Attempt and total timeouts in ms; 0 is off. */
export interface Timeouts {
  readonly attemptMs: number;
  readonly totalMs: number;
}

/** The client's timeouts when `timeout` is not given. */
export const DEFAULT_TIMEOUTS: Timeouts = { attemptMs: 10_000, totalMs: 30_000 };

/**
 * Resolves `value` over `base` (whose total `baseName` describes in errors: "the default", "the
 * client's"). An attempt left unset is the base's, cut to the total: `{ total: 5000 }` alone
 * gives 5 s attempts, not an error about an attempt the caller never set.
 */
export function resolveTimeouts(scope: Scope, value: unknown, base: Timeouts, baseName: string): Timeouts {
  if (value === undefined) return base;
  if (value === false) return { attemptMs: 0, totalMs: 0 };
  if (!isRecord(value)) {
    const allowed =
      typeof value === 'number'
        ? `an object such as { total: ${value} } (ms for the whole call; \`attempt\` for one try), or false`
        : 'an object { attempt, total } in ms, or false';
    throw validationError(scope, 'timeout', value, allowed);
  }
  checkKeys(scope, 'timeout', value, TIMEOUT_KEYS);
  const attempt = checkDuration(scope, 'timeout.attempt', value.attempt, true);
  const total = checkDuration(scope, 'timeout.total', value.total, true);
  const totalMs = total === undefined ? base.totalMs : total === false ? 0 : total;
  let attemptMs: number;
  if (attempt === undefined) {
    attemptMs = totalMs > 0 && base.attemptMs > 0 ? Math.min(base.attemptMs, totalMs) : base.attemptMs;
  } else attemptMs = attempt === false ? 0 : attempt;
  if (attemptMs > 0 && totalMs > 0 && attemptMs > totalMs) {
    const whose = total === undefined ? `, ${baseName}` : '';
    throw validationError(
      scope,
      'timeout.attempt',
      attemptMs,
      `at most timeout.total (${totalMs} ms${whose}): raise timeout.total, or set it to false`,
    );
  }
  return { attemptMs, totalMs };
}

/** The header of the client's `deadline`, lower-cased, or false when `deadline: false`. */
export function parseDeadline(value: unknown): string | false {
  if (value === false) return false;
  const deadline = checkObject('options', 'deadline', value);
  if (deadline === undefined) return 'deadline';
  checkKeys('options', 'deadline', deadline, DEADLINE_KEYS);
  return headerName('deadline.header', deadline.header) ?? 'deadline';
}

/** A header name option, lower-cased (the deadline's, the request id's). */
export function headerName(path: string, value: unknown): string | undefined {
  const name = checkString('options', path, value);
  if (name === undefined) return undefined;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw invalidOption(path, name, 'a valid header name');
  return name.toLowerCase();
}
