// withDeadline: an ambient deadline (AsyncLocalStorage) that every bulwark call inside it honours.
import { AsyncLocalStorage } from 'node:async_hooks';
import { systemClock, type Clock } from '../clock.js';
import { invalidOption } from '../errors.js';

/** The ambient deadline of the current async context. */
interface DeadlineScope {
  /** Absolute time, epoch ms of `clock`. */
  readonly at: number;
  readonly clock: Clock;
}

const storage = new AsyncLocalStorage<DeadlineScope>();

/** Options of {@link withDeadline}. */
export interface WithDeadlineOptions {
  /**
   * The clock the deadline is measured on (the virtual clock in tests).
   * @default systemClock
   */
  clock?: Clock;
}

/**
 * Runs `fn` with a deadline every bulwark call inside it honours: no attempt starts after it,
 * no backoff sleeps past it, and the remaining time travels downstream in the `deadline`
 * header. Nested deadlines keep the earliest.
 * @example
 * await withDeadline(2_000, async () => {
 *   const user = await users.get('/me');
 *   return billing.get('/invoices', { query: { user: (await user.json()).id } });
 * });
 */
export function withDeadline<T>(deadline: number | Date, fn: () => T, options: WithDeadlineOptions = {}): T {
  const clock = options.clock ?? systemClock;
  let at: number;
  if (deadline instanceof Date) {
    at = deadline.getTime();
    if (Number.isNaN(at))
      throw invalidOption('withDeadline(deadline)', deadline, 'a valid Date or a number of ms');
  } else if (typeof deadline === 'number' && !Number.isNaN(deadline) && deadline >= 0) {
    at = clock.now() + deadline;
  } else {
    throw invalidOption('withDeadline(deadline)', deadline, 'a number of ms >= 0 or a Date');
  }
  const outer = storage.getStore();
  if (outer !== undefined && outer.at <= at) return storage.run(outer, fn);
  return storage.run({ at, clock }, fn);
}

/** The ambient deadline (epoch ms), or `Infinity` when none is set. */
export function currentDeadline(): number {
  return storage.getStore()?.at ?? Number.POSITIVE_INFINITY;
}

/** Milliseconds left before the ambient deadline, or `Infinity`. Never negative. */
export function remainingTime(clock: Clock = systemClock): number {
  const scope = storage.getStore();
  if (scope === undefined) return Number.POSITIVE_INFINITY;
  return Math.max(0, scope.at - clock.now());
}

/** Anything that carries request headers: Node's IncomingMessage, a fetch Request, a plain object. */
export type HeaderCarrier =
  | { headers: Record<string, string | string[] | undefined> }
  | { headers: { get(name: string): string | null } };

/**
 * Reads the deadline a caller propagated (`deadline: <ms remaining>`) so a server can continue
 * the budget it received. Returns an absolute Date, or undefined when the header is absent or
 * not a non-negative integer.
 * @example
 * http.createServer((req, res) => {
 *   const deadline = deadlineFromRequest(req);
 *   return deadline ? withDeadline(deadline, () => handle(req, res)) : handle(req, res);
 * });
 */
export function deadlineFromRequest(
  request: HeaderCarrier,
  options: { header?: string; clock?: Clock; maxMs?: number } = {},
): Date | undefined {
  const name = (options.header ?? 'deadline').toLowerCase();
  const headers = request.headers;
  let raw: string | string[] | null | undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    raw = (headers as { get(name: string): string | null }).get(name);
  } else {
    raw = (headers as Record<string, string | string[] | undefined>)[name];
  }
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined || value === null || !/^\s*\d{1,12}\s*$/.test(value)) return undefined;
  const ms = Math.min(Number(value), options.maxMs ?? Number.MAX_SAFE_INTEGER);
  return new Date((options.clock ?? systemClock).now() + ms);
}
