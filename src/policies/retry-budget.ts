/**
 * Finagle's RetryBudget: retries may add about `ratio` of the traffic, plus a floor of
 * `minPerSecond`, so a failing dependency sees at most ~1.2× its normal load, never 4×.
 *
 * It is a leaky token bucket whose entries expire. Every request deposits 1 unit, a retry
 * withdraws `1 / ratio` units (integers scaled by 1000, as Finagle does, so sums stay exact), and
 * a reserve of `minPerSecond · ttl` retries is always on top. Deposits and withdrawals live in
 * 10 time slices per `ttlMs`: memory is O(1) per key, whatever the traffic.
 *
 * The guarantee: over N started ttl windows, retries ≤ `ratio` × requests + N × `minPerSecond` ×
 * ttl seconds (no request's credit is spent twice). An entry counts for between `ttlMs` and
 * `ttlMs` + one slice, never less, so the floor comes back at most once per ttl.
 */
import { systemClock, type Clock } from '../clock.js';
import { invalidOption } from '../errors.js';

/** Options of a retry budget. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per request, on top of the floor: 0.2 lets 1 in 5 requests be retried.
   * From 0 to 1000.
   * @default 0.2
   */
  ratio?: number;
  /**
   * Retries per second always allowed, so a quiet client can still retry its rare failures.
   * From 0 to 1_000_000.
   * @default 10
   */
  minPerSecond?: number;
  /**
   * How long a deposit counts, in ms, from 1_000 to 60_000.
   * @default 10_000
   */
  ttlMs?: number;
}

const SCALE = 1000;
const SLICES = 10;

interface Resolved {
  readonly depositUnits: number;
  readonly withdrawalUnits: number;
  readonly reserveUnits: number;
  readonly ttlMs: number;
  readonly sliceMs: number;
}

function resolve(options: RetryBudgetOptions, path: string): Resolved {
  const { ratio = 0.2, minPerSecond = 10, ttlMs = 10_000 } = options;
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1000)) {
    throw invalidOption(`${path}.ratio`, ratio, 'a number from 0 to 1000');
  }
  if (typeof minPerSecond !== 'number' || !(minPerSecond >= 0 && minPerSecond <= 1e6)) {
    throw invalidOption(`${path}.minPerSecond`, minPerSecond, 'a number from 0 to 1_000_000');
  }
  if (!Number.isInteger(ttlMs) || ttlMs < 1_000 || ttlMs > 60_000) {
    throw invalidOption(`${path}.ttlMs`, ttlMs, 'an integer number of milliseconds from 1_000 to 60_000');
  }
  const withdrawalUnits = ratio === 0 ? 1 : Math.trunc(SCALE / ratio);
  return {
    depositUnits: ratio === 0 ? 0 : SCALE,
    withdrawalUnits,
    reserveUnits: Math.floor(minPerSecond * (ttlMs / 1000)) * withdrawalUnits,
    ttlMs,
    sliceMs: ttlMs / SLICES,
  };
}

/**
 * One retry budget. Call {@link RetryBudget.deposit} once per logical request and
 * {@link RetryBudget.tryWithdraw} before each retry (or hedge).
 * @example
 * const budget = new RetryBudget({ ratio: 0.1 });
 * budget.deposit();
 * if (budget.tryWithdraw()) retry();
 */
export class RetryBudget {
  readonly #r: Resolved;
  readonly #clock: Pick<Clock, 'now'>;
  // The current slice and the SLICES full ones before it, so every entry counts for at least ttlMs.
  readonly #slices = new Float64Array(SLICES + 1);
  #slice: number;
  #sum = 0;
  #lastUsed: number;
  // Attempts and load signals in the current slice and in the one before it.
  #attempts = 0;
  #signals = 0;
  #attemptsBefore = 0;
  #signalsBefore = 0;

  /** @throws BulwarkError `INVALID_OPTIONS` naming `<path>.ratio`, `.minPerSecond` or `.ttlMs`. */
  constructor(
    options: RetryBudgetOptions = {},
    clock: Pick<Clock, 'now'> = systemClock,
    path = 'retry.budget',
  ) {
    this.#r = resolve(options, path);
    this.#clock = clock;
    const now = clock.now();
    this.#slice = Math.floor(now / this.#r.sliceMs);
    this.#lastUsed = now;
  }

  #advance(now = this.#clock.now()): number {
    const slice = Math.floor(now / this.#r.sliceMs);
    if (slice > this.#slice) {
      const steps = Math.min(slice - this.#slice, SLICES + 1);
      for (let k = 1; k <= steps; k++) {
        const i = (this.#slice + k) % (SLICES + 1);
        this.#sum -= this.#slices[i] ?? 0;
        this.#slices[i] = 0;
      }
      this.#attemptsBefore = steps === 1 ? this.#attempts : 0;
      this.#signalsBefore = steps === 1 ? this.#signals : 0;
      this.#attempts = 0;
      this.#signals = 0;
      this.#slice = slice;
    }
    return now;
  }

  #add(units: number): void {
    const i = this.#slice % (SLICES + 1);
    this.#slices[i] = (this.#slices[i] ?? 0) + units;
    this.#sum += units;
  }

  /**
   * Records one request: it earns `ratio` of a retry for the next `ttlMs`. `now`: the clock's
   * time, when the caller has just read it.
   */
  deposit(now?: number): void {
    this.#lastUsed = this.#advance(now);
    this.#add(this.#r.depositUnits);
    this.#attempts++;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryWithdraw(): boolean {
    this.#lastUsed = this.#advance();
    if (this.#r.reserveUnits + this.#sum < this.#r.withdrawalUnits) return false;
    this.#add(-this.#r.withdrawalUnits);
    this.#attempts++;
    return true;
  }

  /** Records that an attempt was answered with a load signal (the HTTP glue: 429 or 503). */
  recordLoadSignal(): void {
    this.#lastUsed = this.#advance();
    this.#signals++;
  }

  /**
   * Recent pushback: the attempts (deposits and retries taken) and the load signals recorded in
   * this slice and the one before, that is over the last one to two tenths of `ttlMs`.
   */
  pushback(): { readonly attempts: number; readonly signals: number } {
    this.#advance();
    return { attempts: this.#attempts + this.#attemptsBefore, signals: this.#signals + this.#signalsBefore };
  }

  /** Retries that could be taken now. */
  balance(): number {
    this.#advance();
    return Math.max(0, Math.floor((this.#r.reserveUnits + this.#sum) / this.#r.withdrawalUnits));
  }

  /**
   * True when nothing has touched the budget for longer than its entries live: it is then
   * identical to a fresh one and can be dropped without changing any decision.
   */
  isIdle(now: number): boolean {
    return now - this.#lastUsed > this.#r.ttlMs + this.#r.sliceMs;
  }
}

/** Options of {@link RetryBudgets}. */
export interface RetryBudgetsOptions extends RetryBudgetOptions {
  /**
   * The clock; inject the virtual clock in tests.
   * @default systemClock
   */
  clock?: Pick<Clock, 'now'>;
}

/**
 * One {@link RetryBudget} per key (an origin, by default), created on first use. Idle keys are
 * swept at most once per `ttlMs`, so a client that talks to many hosts holds only the live ones.
 * @example
 * const budgets = new RetryBudgets({ clock });
 * budgets.deposit('https://api.example.com');
 */
export class RetryBudgets {
  readonly #options: RetryBudgetOptions;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #budgets = new Map<string, RetryBudget>();
  readonly #ttlMs: number;
  #lastSweep: number;

  /** @throws BulwarkError `INVALID_OPTIONS` for bad budget options, checked here, not on first use. */
  constructor(options: RetryBudgetsOptions = {}, path = 'retry.budget') {
    const { clock = systemClock, ...budget } = options;
    this.#ttlMs = resolve(budget, path).ttlMs;
    this.#options = budget;
    this.#clock = clock;
    this.#lastSweep = clock.now();
  }

  /** The budget of `key`, created when missing. `now`: the clock's time, when just read. */
  get(key: string, now = this.#clock.now()): RetryBudget {
    if (now - this.#lastSweep >= this.#ttlMs) this.#sweep(now);
    let budget = this.#budgets.get(key);
    if (budget === undefined) {
      budget = new RetryBudget(this.#options, this.#clock);
      this.#budgets.set(key, budget);
    }
    return budget;
  }

  /** Records one request for `key`. */
  deposit(key: string): void {
    const now = this.#clock.now();
    this.get(key, now).deposit(now);
  }

  /** Takes one retry from `key`'s budget; false when it is spent. */
  tryWithdraw(key: string): boolean {
    return this.get(key).tryWithdraw();
  }

  /** Retries `key` could take now (a key never seen has the full reserve). */
  balance(key: string): number {
    return this.get(key).balance();
  }

  /** Number of keys held. */
  get size(): number {
    return this.#budgets.size;
  }

  /** Balance per live key, for `client.inspect()`. */
  inspect(): { key: string; balance: number }[] {
    this.#sweep(this.#clock.now());
    return [...this.#budgets].map(([key, budget]) => ({ key, balance: budget.balance() }));
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, budget] of this.#budgets) {
      if (budget.isIdle(now)) this.#budgets.delete(key);
    }
  }
}
