/**
 * The `timeout` option of a client (over the defaults) and of a request (over the client's): one
 * rule for both, so that a total given alone is valid everywhere.
 */
import { checkDuration, checkKeys, isRecord, validationError, type Scope } from '../validate.js';

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
  checkKeys(scope, 'timeout', value, ['attempt', 'total']);
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
