/**
 * Option checks shared by every layer (client, pipeline, policies, stores): each names the
 * option path, the value received and what is allowed. It sits next to errors.ts, below all of
 * them, so a policy validates its own options without reaching up into the client.
 *
 * `check*` lets `undefined` through (the caller applies its default with `??`); `require*`
 * refuses it. Every text of "what is allowed" is built only on failure: these run when options
 * are resolved, and must cost nothing more when a policy re-checks a value on a call path.
 */
import { invalidOption, invalidRequest, withheld, type BulwarkError } from './errors.js';

/** Which error a check raises: client or policy options (`INVALID_OPTIONS`) or request options (`INVALID_REQUEST`). */
export type Scope = 'options' | 'request';

/** The error of `scope` naming `path`, the `value` received and what is `allowed`. */
export function validationError(scope: Scope, path: string, value: unknown, allowed: string): BulwarkError {
  return scope === 'options' ? invalidOption(path, value, allowed) : invalidRequest(path, value, allowed);
}

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Refuses keys that are not in `known` (typos are bugs). By default the error suggests the
 * closest known key; `describe` replaces the whole "what is allowed" text. The value is named by
 * its kind only: under an unexpected key it may be a credential (`{ apiKey: '…' }`).
 */
export function checkKeys(
  scope: Scope,
  path: string,
  value: Record<string, unknown>,
  known: readonly string[],
  describe?: (known: readonly string[], key: string) => string,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const where = path === '' ? key : `${path}.${key}`;
    throw validationError(
      scope,
      where,
      withheld(value[key]),
      describe === undefined ? suggest(key, known) : describe(known, key),
    );
  }
}

/**
 * "no such option (did you mean `b`?); known: a, b": the unknown-key text of the policies' own
 * option objects, and of the client's sections that reuse a policy's names (the same text either way).
 */
export function noSuchOption(known: readonly string[], key?: string): string {
  const hint = key === undefined ? undefined : closestHint(key, known);
  return `no such option${hint === undefined ? '' : ` (did you mean ${hint}?)`}; known: ${known.join(', ')}`;
}

/** An object or undefined. */
export function checkObject(scope: Scope, path: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  return requireRecord(scope, path, value);
}

/** A plain object; anything else (undefined included) is refused as "an object". */
export function requireRecord(scope: Scope, path: string, value: unknown): Record<string, unknown> {
  if (!isRecord(value)) throw validationError(scope, path, value, 'an object');
  return value;
}

/**
 * A number within [min, max] (integers only when `integer`), or undefined. NaN is refused;
 * an infinity only passes an infinite bound.
 * @default allowed "an integer from <min> to <max>", "a number >= <min>" when max is infinite
 */
export function checkNumber(
  scope: Scope,
  path: string,
  value: unknown,
  min: number,
  max: number,
  integer = false,
  allowed?: string,
): number | undefined {
  if (value === undefined) return undefined;
  return requireInRange(scope, path, value, min, max, integer, allowed);
}

/** {@link checkNumber} without the pass for undefined. @default allowed "a number from <min> to <max>" */
export function requireNumber(
  scope: Scope,
  path: string,
  value: unknown,
  min: number,
  max: number,
  allowed?: string,
): number {
  return requireInRange(scope, path, value, min, max, false, allowed);
}

/** An integer within [min, max]; undefined is refused. @default allowed "an integer from <min> to <max>" */
export function requireInteger(
  scope: Scope,
  path: string,
  value: unknown,
  min: number,
  max: number,
  allowed?: string,
): number {
  return requireInRange(scope, path, value, min, max, true, allowed);
}

// NaN fails the range test, so it is refused whatever the bounds.
function requireInRange(
  scope: Scope,
  path: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
  allowed: string | undefined,
): number {
  if (typeof value !== 'number' || (integer && !Number.isInteger(value)) || !(value >= min && value <= max)) {
    const kind = integer ? 'an integer' : 'a number';
    throw validationError(scope, path, value, allowed ?? rangeText(kind, min, max));
  }
  return value;
}

/** {@link requireFinite}, or undefined. */
export function checkFinite(
  scope: Scope,
  path: string,
  value: unknown,
  accept: (n: number) => boolean,
  allowed: string,
): number | undefined {
  return value === undefined ? undefined : requireFinite(scope, path, value, accept, allowed);
}

/** A finite number that `accept` takes (for ranges with an open bound); undefined is refused. */
export function requireFinite(
  scope: Scope,
  path: string,
  value: unknown,
  accept: (n: number) => boolean,
  allowed: string,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !accept(value)) {
    throw validationError(scope, path, value, allowed);
  }
  return value;
}

/** `n > 0`, for {@link requireFinite}. */
export const isPositive = (n: number): boolean => n > 0;

/** `n >= 0`, for {@link requireFinite}. */
export const isNonNegative = (n: number): boolean => n >= 0;

function rangeText(kind: string, min: number, max: number): string {
  return `${kind} ${max === Number.POSITIVE_INFINITY ? `>= ${min}` : `from ${min} to ${max}`}`;
}

/** A duration in ms, or `false` to disable (when `allowFalse`). @default max 2_147_483_647 */
export function checkDuration(
  scope: Scope,
  path: string,
  value: unknown,
  allowFalse: boolean,
  max = 2_147_483_647,
): number | false | undefined {
  if (value === undefined) return undefined;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > max) {
    throw validationError(
      scope,
      path,
      value,
      `a duration in ms from 1 to ${max}${allowFalse ? ', or false to disable' : ''}`,
    );
  }
  return value;
}

/** `true`, `false` or undefined. */
export function checkBoolean(scope: Scope, path: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw validationError(scope, path, value, 'true or false');
  return value;
}

/** A string, non-empty unless `allowEmpty`, or undefined. @default allowEmpty false */
export function checkString(
  scope: Scope,
  path: string,
  value: unknown,
  allowEmpty = false,
): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0))
    throw validationError(scope, path, value, 'a non-empty string');
  return value;
}

/** One of the `allowed` strings, or undefined. */
export function checkOneOf<T extends string>(
  scope: Scope,
  path: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw validationError(scope, path, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value as T;
}

/** A function or undefined; a typed function option keeps its type. @default allowed "a function" */
export function checkFunction<F extends (...args: never[]) => unknown>(
  scope: Scope,
  path: string,
  value: F | undefined,
  allowed?: string,
): F | undefined;
export function checkFunction(
  scope: Scope,
  path: string,
  value: unknown,
  allowed?: string,
): ((...args: never[]) => unknown) | undefined;
export function checkFunction(
  scope: Scope,
  path: string,
  value: unknown,
  allowed = 'a function',
): ((...args: never[]) => unknown) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw validationError(scope, path, value, allowed);
  return value as (...args: never[]) => unknown;
}

/**
 * What other clients (ky, got, axios, undici, fetch) call an option, and what it is here: `hint`
 * is shown when `known` (the keys of the object being checked) has `means`. Names only: the
 * value given is never echoed into a hint.
 */
const PEER_NAMES: Readonly<Record<string, { readonly means: string; readonly hint: string }>> = {
  prefixUrl: { means: 'baseUrl', hint: '`baseUrl`' },
  baseURL: { means: 'baseUrl', hint: '`baseUrl`' },
  searchParams: { means: 'query', hint: '`query`' },
  data: { means: 'json', hint: '`json` (or `body` for a string or bytes)' },
  limit: { means: 'maxRetries', hint: '`maxRetries`' },
  retries: { means: 'maxRetries', hint: '`maxRetries`' },
  maxRetries: { means: 'retry', hint: '`retry: { maxRetries }`' },
  throwOnError: { means: 'throwHttpErrors', hint: '`throwHttpErrors`' },
  throwOnHttpError: { means: 'throwHttpErrors', hint: '`throwHttpErrors`' },
};

function suggest(key: string, known: readonly string[]): string {
  const peer = Object.hasOwn(PEER_NAMES, key) ? PEER_NAMES[key] : undefined;
  const hint = peer !== undefined && known.includes(peer.means) ? peer.hint : closestHint(key, known);
  return `a known option${hint === undefined ? '' : ` (did you mean ${hint}?)`}; allowed: ${known.join(', ')}`;
}

function closestHint(key: string, known: readonly string[]): string | undefined {
  const best = closest(key, known);
  return best === undefined ? undefined : `\`${best}\``;
}

// A short word is two edits from many others (`data` from `path`): the bar is one edit up to
// four letters, two beyond.
function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = word.length <= 4 ? 2 : 3;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Edits between `a` and `b`: insertions, deletions, substitutions, and swaps of two neighbours (`mdoe`). */
function distance(a: string, b: string): number {
  // Three rows of the optimal-string-alignment table: two back is what a swap needs.
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, (before[j - 2] ?? 0) + 1);
      row.push(d);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The keys of `T` that `K` leaves out: `never` when `K` lists them all. */
type Unlisted<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;

/**
 * The option names of a section, checked against its type by the compiler: a name the type
 * lacks, or a property of the type left out, does not compile. Call it as
 * `optionKeys<RetryClientOptions>()([...])`.
 */
export function optionKeys<T extends object>(): <const K extends readonly (keyof T & string)[]>(
  keys: K & ([Unlisted<T, K>] extends [never] ? unknown : { readonly unlisted: Unlisted<T, K> }),
) => readonly (keyof T & string)[] {
  return (keys) => keys;
}
