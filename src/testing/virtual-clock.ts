// createVirtualClock: a Clock whose time moves only when a test advances it.
import { sleepWith, type Clock, type TimerHandle } from '../clock.js';

/** A clock that moves only when told to: drive every timing rule without waiting. */
export interface VirtualClock extends Clock {
  /**
   * Moves time forward by `ms`, firing due timers in order, background ones included. Between
   * timers it lets pending promise callbacks run, so code awaiting a sleep continues before the
   * next timer fires.
   */
  advance(ms: number): Promise<void>;
  /**
   * Moves time to the next pending timer and fires it (background timers due on the way fire
   * too); resolves false when none is pending.
   */
  next(): Promise<boolean>;
  /** Fires timers until none is pending or `limit` have fired; background timers are not waited for. */
  runAll(limit?: number): Promise<void>;
  /** Lets pending promise callbacks run without moving time. */
  flush(): Promise<void>;
  /** The delays of timers scheduled so far, in order (like ky's `withCapturedTimeouts`); not background ones. */
  readonly scheduled: readonly number[];
  /** Number of timers not yet fired or cleared, background ones left out. */
  pending(): number;
  /** Number of background timers (`setBackgroundTimeout`: housekeeping) not yet fired or cleared. */
  pendingBackground(): number;
}

/** Options of {@link createVirtualClock}. */
export interface VirtualClockOptions {
  /**
   * The starting time, epoch ms.
   * @default 1_700_000_000_000
   */
  now?: number;
}

interface ScheduledTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  /** Housekeeping: fired as time passes, never waited for. */
  readonly background: boolean;
}

// setImmediate lets the microtask queue drain fully, including promise chains several links deep.
const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Timers in firing order (time, then the order they were set); a cleared one leaves at once. */
class TimerQueue {
  readonly #timers: ScheduledTimer[] = [];
  #background = 0;

  add(timer: ScheduledTimer): void {
    // After every timer due at the same time or earlier: those were set first.
    let low = 0;
    let high = this.#timers.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((this.#timers[mid]?.at ?? 0) <= timer.at) low = mid + 1;
      else high = mid;
    }
    this.#timers.splice(low, 0, timer);
    if (timer.background) this.#background++;
  }

  remove(timer: ScheduledTimer): void {
    const index = this.#timers.indexOf(timer);
    if (index < 0) return;
    this.#timers.splice(index, 1);
    if (timer.background) this.#background--;
  }

  /** Takes the first timer if it is due by `limit`. */
  popDue(limit: number): ScheduledTimer | undefined {
    const first = this.#timers[0];
    if (first === undefined || first.at > limit) return undefined;
    this.remove(first);
    return first;
  }

  /** When the first timer that is not a background one is due. */
  nextForeground(): number | undefined {
    return this.#timers.find((t) => !t.background)?.at;
  }

  get foreground(): number {
    return this.#timers.length - this.#background;
  }

  get background(): number {
    return this.#background;
  }
}

/** The clock's time and timers, and how they fire. */
class VirtualTime {
  current: number;
  readonly queue = new TimerQueue();
  readonly scheduled: number[] = [];
  #seq = 0;

  constructor(start: number) {
    this.current = start;
  }

  schedule(fn: () => void, ms: number, background: boolean): TimerHandle {
    const delay = Math.max(0, Number.isFinite(ms) ? ms : 0);
    if (!background) this.scheduled.push(delay);
    const timer: ScheduledTimer = { at: this.current + delay, seq: this.#seq++, fn, background };
    this.queue.add(timer);
    return {
      clear: () => {
        this.queue.remove(timer);
      },
    };
  }

  /** Fires the first timer due by `limit`; undefined when none is. */
  fireDue(limit: number): ScheduledTimer | undefined {
    const timer = this.queue.popDue(limit);
    if (timer === undefined) return undefined;
    this.current = Math.max(this.current, timer.at);
    timer.fn();
    return timer;
  }

  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await macrotask();
    for (let timer = this.fireDue(target); timer !== undefined; timer = this.fireDue(target)) {
      // Housekeeping resolves no caller's promise: a long jump fires thousands of them at once.
      if (!timer.background) await macrotask();
    }
    this.current = target;
    await macrotask();
  }

  async next(): Promise<boolean> {
    await macrotask();
    const at = this.queue.nextForeground();
    if (at === undefined) return false;
    // Background timers due first fire on the way, as they would while real time passes.
    let timer = this.fireDue(at);
    while (timer?.background === true) timer = this.fireDue(at);
    await macrotask();
    return true;
  }
}

/**
 * Creates a virtual clock.
 * @example
 * const clock = createVirtualClock();
 * const p = clock.sleep(100);
 * await clock.advance(100); // p has resolved
 */
export function createVirtualClock(options: VirtualClockOptions = {}): VirtualClock {
  const time = new VirtualTime(options.now ?? 1_700_000_000_000);
  const clock: VirtualClock = {
    now: () => time.current,
    setTimeout: (fn, ms) => time.schedule(fn, ms, false),
    setBackgroundTimeout: (fn, ms) => time.schedule(fn, ms, true),
    sleep: (ms, signal) => sleepWith(clock, ms, signal),
    advance: (ms) => time.advance(ms),
    next: () => time.next(),
    async runAll(limit = 10_000): Promise<void> {
      for (let i = 0; i < limit; i++) {
        if (!(await time.next())) return;
      }
    },
    flush: macrotask,
    get scheduled() {
      return time.scheduled;
    },
    pending: () => time.queue.foreground,
    pendingBackground: () => time.queue.background,
  };
  return clock;
}
