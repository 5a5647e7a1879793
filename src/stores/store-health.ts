/**
 * Whether a remote store is answering, shared by the rate-limit fallback and the shared circuit
 * store. After a failure the store is "down": calls skip it (no timeout paid per decision) and
 * one trial call per `probeIntervalMs` checks whether it is back, unless the client itself says
 * when it is ready again ({@link StoreHealth.up}). One late reply on a connection the client
 * calls healthy is not an outage: only lateness that lasts a whole deadline more is. An outage is
 * logged once when it starts and once when it ends, never per call, and only when it lasted
 * `logAfterMs`: a blip of a millisecond logs nothing (its events still tell a metric).
 */
import type { Clock } from '../clock.js';

/** The part of a pino-compatible logger the stores use. */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
}

/** What a store reports about its remote backend. */
export type StoreEvent =
  /** The backend failed or timed out; decisions now follow `mode` until it answers again. */
  | { readonly type: 'store-down'; readonly store: string; readonly mode: string; readonly error: unknown }
  /** The backend answered again after `downMs`; decisions are shared again. */
  | { readonly type: 'store-up'; readonly store: string; readonly downMs: number };

/** Options of {@link StoreHealth}. */
export interface StoreHealthOptions {
  readonly store: string;
  readonly mode: string;
  readonly clock: Clock;
  readonly probeIntervalMs: number;
  /** An outage shorter than this is not logged. @default 100 */
  readonly logAfterMs?: number | undefined;
  readonly logger?: StoreLogger | undefined;
  readonly onEvent?: ((event: StoreEvent) => void) | undefined;
}

/** Tracks one backend's outages. */
export class StoreHealth {
  readonly #options: StoreHealthOptions;
  readonly #logAfterMs: number;
  #down = false;
  #downSince = 0;
  #nextTrialAt = 0;
  #logged = false;
  #error: Error | undefined;
  #lateSince: number | undefined;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
    this.#logAfterMs = options.logAfterMs ?? 100;
  }

  /** True while the backend is considered down. */
  get down(): boolean {
    return this.#down;
  }

  /** The failure that started the current outage (undefined while up). */
  get error(): Error | undefined {
    return this.#error;
  }

  /** When the next trial call may go, epoch ms (meaningful while down). */
  get nextTrialAt(): number {
    return this.#nextTrialAt;
  }

  /** Whether this call should go to the backend: always when up, once per interval when down. */
  shouldTry(): boolean {
    if (!this.#down) return true;
    const now = this.#options.clock.now();
    this.#logIfLong(now);
    if (now < this.#nextTrialAt) return false;
    this.#nextTrialAt = now + this.#options.probeIntervalMs;
    return true;
  }

  /**
   * Records a reply that missed its deadline while the client calls its connection healthy. The
   * first starts a late spell and leaves the store up; one more at least `timeoutMs` later, with
   * no reply on time between them, declares it down.
   */
  late(error: Error, timeoutMs: number): void {
    if (this.#down) return;
    const now = this.#options.clock.now();
    if (this.#lateSince === undefined) this.#lateSince = now;
    else if (now - this.#lateSince >= timeoutMs) this.failure(error);
  }

  /** Records a failed call (or a lost connection): the store is down from now. */
  failure(error: Error): void {
    const now = this.#options.clock.now();
    if (this.#down) {
      this.#logIfLong(now);
      return;
    }
    this.#down = true;
    this.#downSince = now;
    this.#logged = false;
    this.#error = error;
    this.#lateSince = undefined;
    this.#nextTrialAt = now + this.#options.probeIntervalMs;
    const { store, mode, onEvent } = this.#options;
    onEvent?.({ type: 'store-down', store, mode, error });
  }

  /** Records a call answered on time. */
  success(): void {
    this.#lateSince = undefined;
    if (this.#down) this.up();
  }

  /** The backend is usable again (a call succeeded, or the client said it is ready). */
  up(): void {
    this.#lateSince = undefined;
    if (!this.#down) return;
    const now = this.#options.clock.now();
    this.#logIfLong(now);
    this.#down = false;
    this.#error = undefined;
    const downMs = Math.max(0, now - this.#downSince);
    const { store, logger, onEvent } = this.#options;
    if (this.#logged) {
      logger?.info?.({ event: 'store-up', store, downMs }, `bulwark: ${store} store answers again`);
    }
    onEvent?.({ type: 'store-up', store, downMs });
  }

  #logIfLong(now: number): void {
    if (this.#logged || now - this.#downSince < this.#logAfterMs) return;
    this.#logged = true;
    const { store, mode, logger } = this.#options;
    logger?.warn(
      { event: 'store-down', store, mode, err: this.#error },
      `bulwark: ${store} store unreachable, decisions now follow onStoreError '${mode}' until it answers`,
    );
  }
}
