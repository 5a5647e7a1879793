import { invalidOption, invalidRequest, type BulwarkError } from '../errors.js';

/** Which error a check raises: client options (`INVALID_OPTIONS`) or request options (`INVALID_REQUEST`). */
export type Scope = 'options' | 'request';

function fail(scope: Scope, path: string, value: unknown, allowed: string): BulwarkError {
  return scope === 'options' ? invalidOption(path, value, allowed) : invalidRequest(path, value, allowed);
}

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses keys that are not in `known`, suggesting the closest known one (typos are bugs). */
export function checkKeys(
  scope: Scope,
  path: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const hint = closest(key, known);
    const where = path === '' ? key : `${path}.${key}`;
    throw fail(
      scope,
      where,
      value[key],
      `a known option${hint === undefined ? '' : ` (did you mean \`${hint}\`?)`}; allowed: ${known.join(', ')}`,
    );
  }
}

/** An object or undefined. */
export function checkObject(scope: Scope, path: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw fail(scope, path, value, 'an object');
  return value;
}

/** A number within [min, max] (integers only when `integer`), or undefined. */
export function checkNumber(
  scope: Scope,
  path: string,
  value: unknown,
  min: number,
  max: number,
  integer = false,
): number | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  ) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`;
    throw fail(scope, path, value, `${kind} ${range}`);
  }
  return value;
}

/** A duration in ms, or `false` to disable (when `allowFalse`). */
export function checkDuration(
  scope: Scope,
  path: string,
  value: unknown,
  allowFalse: boolean,
  max = 2_147_483_647,
): number | false | undefined {
  if (value === undefined) return undefined;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw fail(
      scope,
      path,
      value,
      `a duration in ms from 1 to ${max}${allowFalse ? ', or false to disable' : ''}`,
    );
  }
  return value;
}

export function checkBoolean(scope: Scope, path: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw fail(scope, path, value, 'true or false');
  return value;
}

export function checkString(
  scope: Scope,
  path: string,
  value: unknown,
  allowEmpty = false,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0))
    throw fail(scope, path, value, 'a non-empty string');
  return value;
}

export function checkOneOf<T extends string>(
  scope: Scope,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw fail(scope, path, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

export function checkFunction(
  scope: Scope,
  path: string,
  value: unknown,
): ((...args: never[]) => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw fail(scope, path, value, 'a function');
  return value as (...args: never[]) => unknown;
}

export { fail as validationError };

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}
