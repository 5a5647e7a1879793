/**
 * Time and randomness are injected: every policy takes a {@link Clock} and a {@link RandomSource},
 * so tests drive them to the millisecond with the virtual clock of `bulwark/testing`.
 */

/** A scheduled callback that can be cancelled. */
export interface TimerHandle {
  clear(): void;
  /**
   * Optional: stop (`unref`) or start again (`ref`) holding the process open while armed, as
   * Node's own timers do. A clock without them has its timers cleared instead of parked.
   */
  unref?(): void;
  ref?(): void;
}

/** The source of time for every policy. */
export interface Clock {
  /** Milliseconds since the epoch. Monotonic for the system clock (never steps back). */
  now(): number;
  /**
   * Runs `fn` after `ms`. Every timer bulwark sets belongs to a call in progress (a timeout, a
   * backoff, a queue wait) and is cleared when the call ends, so system timers are ref'd: a
   * script awaiting a retry must not exit while it waits.
   */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /**
   * Runs `fn` after `ms`, for housekeeping no call waits for (freeing idle per-key state). System
   * timers of this kind are unref'd, so they never keep a process alive; a virtual clock fires
   * them as time passes but leaves them out of `runAll()`, `pending()` and `scheduled`. Optional:
   * a clock without it gets its `setTimeout` (see {@link setBackgroundTimeout}).
   */
  setBackgroundTimeout?(fn: () => void, ms: number): TimerHandle;
  /** Resolves after `ms`; rejects with `signal.reason` if the signal aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Returns a number in [0, 1). */
export type RandomSource = () => number;

const origin = performance.timeOrigin;

/** The longest delay of one Node timer, ms; a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

class SystemTimer implements TimerHandle {
  #timer: NodeJS.Timeout;
  #refed: boolean;
  constructor(fn: () => void, ms: number, background: boolean) {
    this.#refed = !background;
    // Never early: Node truncates a fractional delay (a deadline's remaining 29999.87 ms) and
    // counts from the event loop's cached time, which can lag by a millisecond under load, so a
    // timer may fire before its delay. One that does is set again for what is left.
    const due = performance.now() + ms;
    const set = (delay: number): NodeJS.Timeout => {
      const timer = setTimeout(fire, Math.min(Math.ceil(delay), MAX_TIMER_MS));
      return this.#refed ? timer : timer.unref();
    };
    const fire = (): void => {
      const left = due - performance.now();
      if (left > 0) this.#timer = set(left);
      else fn();
    };
    this.#timer = set(ms);
  }
  clear(): void {
    clearTimeout(this.#timer);
  }
  unref(): void {
    this.#refed = false;
    this.#timer.unref();
  }
  ref(): void {
    this.#refed = true;
    this.#timer.ref();
  }
}

/** The real clock: `performance.timeOrigin + performance.now()` and Node timers. */
export const systemClock: Clock = {
  now: () => origin + performance.now(),
  setTimeout: (fn, ms) => new SystemTimer(fn, ms, false),
  setBackgroundTimeout: (fn, ms) => new SystemTimer(fn, ms, true),
  sleep: (ms, signal) => sleepWith(systemClock, ms, signal),
};

/**
 * A housekeeping timer on `clock`: its own `setBackgroundTimeout`, else its `setTimeout` (whether
 * that one keeps the process alive is then the custom clock's affair).
 */
export function setBackgroundTimeout(clock: Clock, fn: () => void, ms: number): TimerHandle {
  return clock.setBackgroundTimeout === undefined
    ? clock.setTimeout(fn, ms)
    : clock.setBackgroundTimeout(fn, ms);
}

/** `Math.random`, the default random source. */
export const systemRandom: RandomSource = Math.random;

/** A `sleep` built on any clock's `setTimeout`, honouring an abort signal without leaking its listener. */
export function sleepWith(clock: Pick<Clock, 'setTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
  if (ms <= 0 && signal === undefined) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      timer.clear();
      reject(signal?.reason as Error);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A node of an intrusive doubly linked list: a {@link DueEntry}, a store call's deadline. */
export interface ListNode<T> {
  prev: T | undefined;
  next: T | undefined;
}

/** The two ends of an intrusive list of {@link ListNode}s. */
export interface ListEnds<T> {
  head: T | undefined;
  tail: T | undefined;
}

/** Takes `node` out of the list whose ends are `ends`, in O(1). */
export function unlinkNode<T extends ListNode<T>>(ends: ListEnds<T>, node: T): void {
  const { prev, next } = node;
  if (prev === undefined) ends.head = next;
  else prev.next = next;
  if (next === undefined) ends.tail = prev;
  else next.prev = prev;
  node.prev = undefined;
  node.next = undefined;
}

/**
 * One timeout of a {@link DueList}: `expire()` runs once the clock reaches `due`, unless the
 * entry was removed first. Subclasses carry what the timeout is about, so arming one allocates
 * nothing besides the entry itself.
 */
export abstract class DueEntry {
  /** Clock time at which the entry expires. */
  due = 0;
  prev: DueEntry | undefined = undefined;
  next: DueEntry | undefined = undefined;
  list: DueList | undefined = undefined;
  abstract expire(): void;
}

/**
 * Timeouts of one nominal length (every 10 s attempt timeout of a clock, say), on one timer of
 * the clock. Entries arrive in due order (a later start, a later due), so adding and removing
 * one is O(1): a doubly linked list in due order whose head is the only timer armed. Removing
 * the head leaves the timer as it is; when it fires early it finds nothing due and is set again
 * for the new head. Once the list is empty its timer stops holding the process open (`unref`):
 * one call at a time would otherwise set and clear a Node timer per call, the costliest part of
 * a default call at one in flight. The parked timer fires once at most, finds nothing, and is
 * gone; the next call's entry, due later, takes it over and holds the process again (`ref`).
 * Only shared lists park (see {@link dueListOf}); a list of one call's own, or a clock whose
 * handles cannot park (the virtual clock), has the timer cleared instead.
 */
export class DueList {
  readonly #clock: Clock;
  readonly #ends: ListEnds<DueEntry> = { head: undefined, tail: undefined };
  #timer: TimerHandle | undefined = undefined;
  /** When the armed timer fires. */
  #timerAt = Number.POSITIVE_INFINITY;
  /** The timer is armed but parked (unref'd): the list was empty when it last had to be. */
  #parked = false;
  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#parked = false;
    const now = this.#clock.now();
    try {
      let head = this.#ends.head;
      while (head !== undefined && head.due <= now) {
        this.remove(head);
        head.expire();
        head = this.#ends.head;
      }
    } finally {
      const next = this.#ends.head;
      if (next !== undefined) this.#arm(next.due, now);
    }
  };

  /** Park the timer when the list empties (a shared list, reused by the next call) or clear it. */
  readonly #parks: boolean;

  constructor(clock: Clock, options: { shared?: boolean } = {}) {
    this.#clock = clock;
    this.#parks = options.shared === true;
  }

  /** Arms `entry` to expire at clock time `due`. */
  add(entry: DueEntry, due: number): void {
    entry.due = due;
    entry.list = this;
    const ends = this.#ends;
    let after = ends.tail;
    // Out of order only when the clock's time was given from elsewhere (a redirect hop's rest).
    while (after !== undefined && after.due > due) after = after.prev;
    entry.prev = after;
    entry.next = after === undefined ? ends.head : after.next;
    if (entry.next === undefined) ends.tail = entry;
    else entry.next.prev = entry;
    if (after === undefined) ends.head = entry;
    else after.next = entry;
    if (due < this.#timerAt) this.#arm(due, this.#clock.now());
    else if (this.#parked) {
      this.#parked = false;
      this.#timer?.ref?.();
    }
  }

  /** Disarms `entry`; nothing happens when it is not in this list. */
  remove(entry: DueEntry): void {
    if (entry.list !== this) return;
    entry.list = undefined;
    unlinkNode(this.#ends, entry);
    const timer = this.#timer;
    if (this.#ends.head !== undefined || timer === undefined) return;
    if (this.#parks && timer.unref !== undefined && timer.ref !== undefined) {
      timer.unref();
      this.#parked = true;
      return;
    }
    timer.clear();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  /** Clears the timer if it is parked (the list is empty); a list in use keeps its timer. */
  clearParked(): void {
    if (!this.#parked) return;
    this.#timer?.clear();
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    this.#parked = false;
  }

  #arm(due: number, now: number): void {
    this.#timer?.clear();
    this.#parked = false;
    this.#timerAt = due;
    this.#timer = this.#clock.setTimeout(this.#sweep, Math.max(0, due - now));
  }
}

const dueLists = new WeakMap<Clock, Map<number, DueList>>();

/** Lengths shared per clock; past these, a length gets a list of its own each time. */
const MAX_SHARED_LENGTHS = 64;

/**
 * The clock's list of timeouts whose nominal length is `ms`, shared by every client on that
 * clock. Per-request timeouts of ever new lengths get unshared lists past the first 64, so the
 * shared table stays bounded.
 */
export function dueListOf(clock: Clock, ms: number): DueList {
  let lists = dueLists.get(clock);
  if (lists === undefined) {
    lists = new Map();
    dueLists.set(clock, lists);
  }
  let list = lists.get(ms);
  if (list === undefined) {
    const shared = lists.size < MAX_SHARED_LENGTHS;
    list = new DueList(clock, { shared });
    if (shared) lists.set(ms, list);
  }
  return list;
}

/**
 * Clears the parked timers of the clock's shared lists: a closing client leaves no timer behind,
 * and a list another client still uses keeps its timer.
 */
export function clearParkedTimers(clock: Clock): void {
  const lists = dueLists.get(clock);
  if (lists === undefined) return;
  for (const list of lists.values()) list.clearParked();
}
