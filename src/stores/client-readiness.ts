/**
 * Whether a caller's Redis client can take a command now, read from the client itself: ioredis's
 * `status` and its `ready` event, node-redis's `isReady` and its `ready`/`end` events. A client
 * that has never been ready is connecting, not down: the store waits for it (within a bound)
 * instead of declaring an outage, and is up again the moment the client says it is ready.
 */
import type { Clock, TimerHandle } from '../clock.js';

/** What the client says of its connection. */
export type ReadinessState =
  /** Commands go to Redis now. */
  | 'ready'
  /** Never ready yet (created, connecting, or `connect()` not yet called). */
  | 'connecting'
  /** Was ready and lost its connection (reconnecting, closed or ended). */
  | 'lost';

/** The client's connection state and its `ready` moments. */
export interface ClientReadiness {
  /** The state right now: one property read per decision. */
  state(): ReadinessState;
  /** Calls `listener` each time the client becomes ready, until {@link close} (which it then needs). */
  onReady(listener: () => void): void;
  /** Removes the listeners this object put on the client. */
  close(): void;
}

interface EventSource {
  on(event: string, listener: () => void): unknown;
  off?(event: string, listener: () => void): unknown;
  removeListener?(event: string, listener: () => void): unknown;
}

const IOREDIS_READY = 'ready';

/** One `ready` listener per client, however many stores share it; removed with the last store. */
interface ReadyHub {
  readonly listeners: Set<() => void>;
  readonly fire: () => void;
}

const hubs = new WeakMap<object, ReadyHub>();

function subscribe(source: EventSource, listener: () => void): () => void {
  let hub = hubs.get(source);
  if (hub === undefined) {
    const listeners = new Set<() => void>();
    const created: ReadyHub = {
      listeners,
      fire: () => {
        for (const each of listeners) each();
      },
    };
    source.on('ready', created.fire);
    hubs.set(source, created);
    hub = created;
  }
  hub.listeners.add(listener);
  const own = hub;
  return () => {
    own.listeners.delete(listener);
    if (own.listeners.size > 0 || hubs.get(source) !== own) return;
    hubs.delete(source);
    if (typeof source.off === 'function') source.off('ready', own.fire);
    else source.removeListener?.('ready', own.fire);
  };
}

/**
 * A reader of `client`'s readiness, or undefined for a client that says nothing of it (a custom
 * or wrapped client: then it is taken as always ready, and failures alone mark an outage).
 */
export function clientReadiness(client: unknown): ClientReadiness | undefined {
  const c = client as Record<string, unknown> | null;
  if (typeof c !== 'object' || c === null) return undefined;
  let isReady: () => boolean;
  if (typeof c['status'] === 'string') isReady = () => c['status'] === IOREDIS_READY;
  else if (typeof c['isReady'] === 'boolean') isReady = () => c['isReady'] === true;
  else return undefined;
  let everReady = isReady();
  const listeners: (() => void)[] = [];
  const source = typeof c['on'] === 'function' ? (c as unknown as EventSource) : undefined;
  let unsubscribe: (() => void) | undefined;
  const ready = (): void => {
    everReady = true;
    for (const listener of listeners) listener();
  };
  return {
    state() {
      if (isReady()) {
        everReady = true;
        return 'ready';
      }
      return everReady ? 'lost' : 'connecting';
    },
    onReady(listener) {
      // The client's event is listened to only for a store that asks (and so will close).
      if (source !== undefined) unsubscribe ??= subscribe(source, ready);
      listeners.push(listener);
    },
    close() {
      listeners.length = 0;
      unsubscribe?.();
      unsubscribe = undefined;
    },
  };
}

interface Waiter {
  readonly resolve: (ready: boolean) => void;
  timer: TimerHandle | undefined;
}

/** Decisions waiting for a connecting client: each until it is ready or its own bound passes. */
export class ConnectWait {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Resolves true when {@link wake} says ready within `ms`, false otherwise. Never rejects. */
  wait(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, timer: undefined };
      waiter.timer = this.#clock.setTimeout(() => {
        this.#waiters.delete(waiter);
        resolve(false);
      }, ms);
      this.#waiters.add(waiter);
    });
  }

  /** Ends every wait: `true` when the client is ready, `false` when the store closes. */
  wake(ready: boolean): void {
    for (const waiter of this.#waiters) {
      waiter.timer?.clear();
      waiter.resolve(ready);
    }
    this.#waiters.clear();
  }
}
