/**
 * Whether a remote store is answering, shared by the rate-limit fallback and the shared circuit
 * store. After a failure the store is "down": calls skip it (no timeout paid per decision) and
 * one trial call per `probeIntervalMs` checks whether it is back. The outage is logged once when
 * it starts and once when it ends, never per call.
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
  readonly logger?: StoreLogger | undefined;
  readonly onEvent?: ((event: StoreEvent) => void) | undefined;
}

/** Tracks one backend's outages. */
export class StoreHealth {
  readonly #options: StoreHealthOptions;
  #down = false;
  #downSince = 0;
  #nextTrialAt = 0;

  constructor(options: StoreHealthOptions) {
    this.#options = options;
  }

  /** True while the backend is considered down. */
  get down(): boolean {
    return this.#down;
  }

  /** When the next trial call may go, epoch ms (meaningful while down). */
  get nextTrialAt(): number {
    return this.#nextTrialAt;
  }

  /** Whether this call should go to the backend: always when up, once per interval when down. */
  shouldTry(): boolean {
    if (!this.#down) return true;
    const now = this.#options.clock.now();
    if (now < this.#nextTrialAt) return false;
    this.#nextTrialAt = now + this.#options.probeIntervalMs;
    return true;
  }

  /** Records a failed or timed-out call. */
  failure(error: unknown): void {
    if (this.#down) return;
    const now = this.#options.clock.now();
    this.#down = true;
    this.#downSince = now;
    this.#nextTrialAt = now + this.#options.probeIntervalMs;
    const { store, mode, logger, onEvent } = this.#options;
    logger?.warn(
      { event: 'store-down', store, mode, err: error },
      `bulwark: ${store} store unreachable, decisions now follow onStoreError '${mode}' until it answers`,
    );
    onEvent?.({ type: 'store-down', store, mode, error });
  }

  /** Records a call that succeeded. */
  success(): void {
    if (!this.#down) return;
    this.#down = false;
    const downMs = Math.max(0, this.#options.clock.now() - this.#downSince);
    const { store, logger, onEvent } = this.#options;
    logger?.info?.({ event: 'store-up', store, downMs }, `bulwark: ${store} store answers again`);
    onEvent?.({ type: 'store-up', store, downMs });
  }
}
