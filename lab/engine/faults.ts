/**
 * The stateful fault models behind the `overload` and `throttle` phases. They know nothing of
 * HTTP: the upstream asks them what to do with each request and when.
 */
import type { OverloadPhase, ThrottlePhase } from './scenario.js';

/**
 * A server with `capacity` workers and a bounded line. A request is served at once when a worker
 * is free, waits in line when none is, and is turned away when the line is full: latency is the
 * wait plus the service time, so it grows with the server's concurrency.
 */
export class ServerQueue {
  readonly #phase: OverloadPhase;
  readonly #line: (() => void)[] = [];
  #busy = 0;

  constructor(phase: OverloadPhase) {
    this.#phase = phase;
  }

  /** Requests being served plus requests waiting. */
  get concurrency(): number {
    return this.#busy + this.#line.length;
  }

  /**
   * Admits a request: `start` runs when a worker takes it and must call the returned `done` when
   * the work is over. Returns false when the line is full (the caller answers 503).
   */
  admit(start: (done: () => void) => void): boolean {
    const run = (): void => {
      this.#busy++;
      let released = false;
      start(() => {
        if (released) return;
        released = true;
        this.#busy--;
        this.#line.shift()?.();
      });
    };
    if (this.#busy < this.#phase.capacity) {
      run();
      return true;
    }
    if (this.#line.length >= this.#phase.queue) return false;
    this.#line.push(run);
    return true;
  }

  /** How long one request's work takes: the service time, ±10 % so workers do not finish in lockstep. */
  serviceTime(random: () => number): number {
    return this.#phase.serviceTime * (0.9 + 0.2 * random());
  }
}

/** The answer of a {@link Quota}: admitted with what remains, or refused until the window resets. */
export type QuotaDecision =
  | { readonly admitted: true; readonly remaining: number; readonly resetMs: number }
  | { readonly admitted: false; readonly remaining: 0; readonly resetMs: number };

/** A fixed-window quota, as most public APIs enforce: `quota` requests per `window` seconds from phase start. */
export class Quota {
  readonly #phase: ThrottlePhase;
  #window = -1;
  #used = 0;

  constructor(phase: ThrottlePhase) {
    this.#phase = phase;
  }

  /** Counts a request arriving at `t` ms into the run. */
  take(t: number): QuotaDecision {
    const windowMs = this.#phase.window * 1000;
    const index = Math.floor((t - this.#phase.from) / windowMs);
    if (index !== this.#window) {
      this.#window = index;
      this.#used = 0;
    }
    const resetMs = this.#phase.from + (index + 1) * windowMs - t;
    if (this.#used >= this.#phase.quota) return { admitted: false, remaining: 0, resetMs };
    this.#used++;
    return { admitted: true, remaining: this.#phase.quota - this.#used, resetMs };
  }

  /**
   * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers) plus Retry-After on refusals.
   * `t` and Retry-After are whole seconds, rounded up so a client that honours them is never early.
   */
  headers(decision: QuotaDecision): Record<string, string> {
    const seconds = Math.max(1, Math.ceil(decision.resetMs / 1000));
    const headers: Record<string, string> = {
      'ratelimit-policy': `"default";q=${this.#phase.quota};w=${this.#phase.window}`,
      ratelimit: `"default";r=${decision.remaining};t=${seconds}`,
    };
    if (!decision.admitted) headers['retry-after'] = String(seconds);
    return headers;
  }
}
