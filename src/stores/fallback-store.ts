/**
 * What a global limit does when its store fails: a wrapper that gives every call to a remote
 * store (Redis) a deadline and, when the store errs, is late or its client has no connection,
 * decides by `onStoreError`:
 * - `'local'` (default): an in-process limiter takes over with this node's share of the limit
 *   (the limit ÷ the nodes seen sharing it, starting from what this node last knew of the shared
 *   bucket), so the fleet keeps about one limit; the shared limit resumes as soon as the store
 *   answers again;
 * - `'open'`: admit everything (availability first);
 * - `'closed'`: refuse everything (quota first), `retryAfterMs` until the next trial call.
 * A client that has never been ready is connecting, not down: decisions wait for it up to
 * `connectWaitMs` (never past their deadline). While the store is down no call waits for it; it
 * is up again when its client says ready, or (a client that says nothing) after a trial call.
 * A primary that names partitions (a Redis Cluster's masters) is up or down per partition.
 */
import { systemClock, type Clock } from '../clock.js';
import { asError, invalidOption, promiseOf } from '../errors.js';
import { checkFinite, isPositive } from '../validate.js';
import { MemoryStore } from '../policies/memory-store.js';
import { ConnectWait, type ClientReadiness } from './client-readiness.js';
import { FleetShare, isFleetAware } from './fleet-share.js';
import { StoreHealth, type StoreEvent, type StoreLogger } from './store-health.js';
import { DeadlineQueue, StoreTimeoutError } from './store-timeout.js';
import {
  isPromiseLike,
  isRateLimitStore,
  type CallbackRateLimitStore,
  type GcraParams,
  type RateLimitDecision,
  type RateLimitStore,
  type TakeCallback,
  type TakeRequest,
} from '../policies/store-contract.js';

/** What a global limiter does while its store is unreachable. */
export type StoreErrorMode = 'local' | 'open' | 'closed';

const MODES: readonly StoreErrorMode[] = ['local', 'open', 'closed'];

/** Options of {@link fallbackStore}. */
export interface FallbackStoreOptions {
  /**
   * Deadline of one store call, ms. A call past it is decided by `onStoreError`; its late reply
   * is reconciled (a slot it took that the caller did not get is given back).
   * @default 100
   */
  readonly timeoutMs?: number;
  /**
   * Behaviour while the store fails or is late.
   * @default 'local'
   */
  readonly onStoreError?: StoreErrorMode;
  /**
   * While the store is down and its client cannot say when it is back, one call per interval
   * tries it again, ms.
   * @default 250
   */
  readonly probeIntervalMs?: number;
  /**
   * How long a decision waits for a client that has never been ready (a process that just
   * started), ms; never past the request's deadline. Past it, `onStoreError` decides.
   * @default 1000
   */
  readonly connectWaitMs?: number;
  /**
   * How many nodes share this limit, for `onStoreError: 'local'`: each takes 1/nodes of it while
   * Redis is away. Unset, the nodes count themselves through Redis while it answers.
   * @default the nodes seen through Redis (1 before any)
   */
  readonly nodes?: number;
  /**
   * An outage shorter than this is not logged (its events still fire), ms.
   * @default 100
   */
  readonly logAfterMs?: number;
  /**
   * The in-process store used by `'local'`.
   * @default new MemoryStore()
   */
  readonly local?: RateLimitStore;
  /**
   * Name in logs and events.
   * @default 'redis'
   */
  readonly name?: string;
  /** Told once when the store goes down and once when it is back (pino-compatible). */
  readonly logger?: StoreLogger;
  /** Called once when the store goes down and once when it is back. */
  readonly onEvent?: (event: StoreEvent) => void;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A store with a fallback; `degraded` is true while the remote store is considered down. */
export interface FallbackStore extends RateLimitStore {
  readonly degraded: boolean;
  take(request: TakeRequest): Promise<RateLimitDecision>;
  hold(key: string, params: GcraParams, forMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * What a primary store may offer beyond the contract: its client's readiness, and a charge that
 * puts a cost on a bucket whatever it holds (negative gives slots back), to reconcile late replies.
 */
interface PrimaryExtras {
  readonly readiness?: ClientReadiness | undefined;
  charge?(request: TakeRequest, cost: number): void;
  /** Told when a decision missed its deadline (a cluster store then re-reads its topology). */
  stalled?(request: TakeRequest): void;
  /**
   * The part of the backend that decides `key` (a cluster's master): each part is up or down on
   * its own. Undefined (or no method): one health for the whole store.
   */
  partitionOf?(key: string): string | undefined;
}

type Primary = RateLimitStore & PrimaryExtras;

/** Raised (as a decision's `storeError`) while the client has no connection to decide through. */
export class StoreNotReadyError extends Error {
  override readonly name = 'StoreNotReadyError';
  readonly code: 'STORE_CONNECTING' | 'STORE_DISCONNECTED';
  constructor(code: 'STORE_CONNECTING' | 'STORE_DISCONNECTED', message: string) {
    super(message);
    this.code = code;
  }
}

const POSITIVE_MS = 'a positive number of milliseconds';

function hasTakeInto(store: RateLimitStore): store is CallbackRateLimitStore {
  return typeof (store as Partial<CallbackRateLimitStore>).takeInto === 'function';
}

/** The options, checked once, with their defaults. */
interface Settings {
  readonly mode: StoreErrorMode;
  readonly timeoutMs: number;
  readonly connectWaitMs: number;
  readonly clock: Clock;
  /** The caller's clock, if given (deadlines then run on it rather than on Node's timers). */
  readonly ownClock: Clock | undefined;
  readonly nodes: number | undefined;
}

function settingsOf(options: FallbackStoreOptions): Settings {
  const mode = options.onStoreError ?? 'local';
  if (!MODES.includes(mode)) throw invalidOption('onStoreError', mode, "'local', 'open' or 'closed'");
  if (options.local !== undefined && !isRateLimitStore(options.local)) {
    throw invalidOption(
      'local',
      options.local,
      'a RateLimitStore (take and hold methods), e.g. new MemoryStore()',
    );
  }
  const nodes = options.nodes;
  if (nodes !== undefined && !(Number.isInteger(nodes) && nodes >= 1 && nodes <= 100_000)) {
    throw invalidOption('nodes', nodes, 'an integer from 1 to 100000 (the nodes sharing the limit)');
  }
  return {
    mode,
    timeoutMs: checkFinite('options', 'timeoutMs', options.timeoutMs, isPositive, POSITIVE_MS) ?? 100,
    connectWaitMs:
      checkFinite('options', 'connectWaitMs', options.connectWaitMs, isPositive, POSITIVE_MS) ?? 1_000,
    clock: options.clock ?? systemClock,
    ownClock: options.clock,
    nodes,
  };
}

function healthOf(options: FallbackStoreOptions, settings: Settings): StoreHealth {
  return new StoreHealth({
    store: options.name ?? 'redis',
    mode: settings.mode,
    clock: settings.clock,
    probeIntervalMs:
      checkFinite('options', 'probeIntervalMs', options.probeIntervalMs, isPositive, POSITIVE_MS) ?? 250,
    logAfterMs:
      checkFinite('options', 'logAfterMs', options.logAfterMs, (n) => n >= 0, 'a number ≥ 0') ?? 100,
    logger: options.logger,
    onEvent: options.onEvent,
  });
}

/** Wraps `primary` (usually the Redis store) with a deadline per call and the `onStoreError` policy. */
export function fallbackStore(primary: RateLimitStore, options: FallbackStoreOptions = {}): FallbackStore {
  const settings = settingsOf(options);
  return new Fallback(primary, settings, () => healthOf(options, settings), options.local);
}

class Fallback implements FallbackStore {
  readonly #primary: Primary;
  readonly #settings: Settings;
  /** The health of the whole store (and of its client's connection). */
  readonly #health: StoreHealth;
  readonly #newHealth: () => StoreHealth;
  /** One health per partition (cluster master) the primary names; a handful of entries. */
  readonly #parts = new Map<string, StoreHealth>();
  readonly #deadlines: DeadlineQueue;
  readonly #connecting: ConnectWait;
  readonly #readiness: ClientReadiness | undefined;
  readonly #ask: (request: TakeRequest, done: TakeCallback) => void;
  #local: RateLimitStore | undefined;
  #share: FleetShare | undefined;

  constructor(
    primary: Primary,
    settings: Settings,
    newHealth: () => StoreHealth,
    local: RateLimitStore | undefined,
  ) {
    const health = newHealth();
    this.#primary = primary;
    this.#settings = settings;
    this.#health = health;
    this.#newHealth = newHealth;
    this.#deadlines = new DeadlineQueue(settings.timeoutMs, settings.ownClock);
    this.#connecting = new ConnectWait(settings.clock);
    this.#local = local;
    if (settings.mode === 'local') {
      this.#share = new FleetShare(
        this.#localStore(),
        settings.clock,
        settings.nodes,
        isFleetAware(primary) ? primary : undefined,
      );
    }
    this.#readiness = primary.readiness;
    this.#readiness?.onReady(() => {
      health.up();
      for (const part of this.#parts.values()) part.up();
      this.#connecting.wake(true);
    });
    // Callback stores (Redis) answer straight from the reply; a promise store is adapted once here,
    // so there is one path below: one promise per decision.
    this.#ask = hasTakeInto(primary)
      ? (request, done) => {
          primary.takeInto(request, done);
        }
      : (request, done) => {
          promiseOf(() => primary.take(request)).then(
            (decision) => {
              done(undefined, decision);
            },
            (error: unknown) => {
              done(asError(error), undefined);
            },
          );
        };
  }

  get degraded(): boolean {
    if (this.#health.down) return true;
    for (const part of this.#parts.values()) if (part.down) return true;
    return false;
  }

  /** The health that decides `key`: its partition's, or the store's. */
  #healthOf(key: string): StoreHealth {
    const part = this.#primary.partitionOf?.(key);
    if (part === undefined) return this.#health;
    let health = this.#parts.get(part);
    if (health === undefined) {
      health = this.#newHealth();
      this.#parts.set(part, health);
    }
    return health;
  }

  take(request: TakeRequest): Promise<RateLimitDecision> {
    const state = this.#readiness?.state() ?? 'ready';
    if (state !== 'ready') return this.#notReady(request, state);
    const health = this.#healthOf(request.key);
    if (!health.shouldTry()) return this.#fallBack(request, health.error ?? notReady('lost'), health);
    return this.#takeShared(request, health);
  }

  async hold(key: string, params: GcraParams, forMs: number): Promise<void> {
    // The local bucket learns every hold, so a fallback during the server's hold still honours it.
    if (this.#settings.mode === 'local') await this.#localStore().hold(key, params, forMs);
    const health = this.#healthOf(key);
    if ((this.#readiness?.state() ?? 'ready') !== 'ready' || !health.shouldTry()) return;
    try {
      await this.#deadlines.run(promiseOf(() => this.#primary.hold(key, params, forMs)));
      health.success();
    } catch (error) {
      health.failure(asError(error));
    }
  }

  async close(): Promise<void> {
    this.#readiness?.close();
    this.#connecting.wake(false);
    await this.#local?.close?.();
    await this.#primary.close?.();
  }

  #localStore(): RateLimitStore {
    return (this.#local ??= new MemoryStore({ clock: this.#settings.clock }));
  }

  /** A client that is not ready: wait for one still connecting (within bounds), else fall back. */
  async #notReady(request: TakeRequest, state: 'connecting' | 'lost'): Promise<RateLimitDecision> {
    const health = this.#health;
    if (state === 'lost' || health.down) {
      const error = health.error ?? notReady(state);
      health.failure(error);
      return this.#fallBack(request, error, health);
    }
    const { clock, connectWaitMs } = this.#settings;
    const left = request.deadline === undefined ? connectWaitMs : request.deadline - clock.now();
    const waitMs = Math.min(connectWaitMs, left);
    if (waitMs > 0 && (await this.#connecting.wait(waitMs))) return this.take(request);
    const error = notReady('connecting', connectWaitMs);
    // Only a wait of the whole bound says the client is not coming; a short deadline says nothing.
    if (waitMs >= connectWaitMs) health.failure(error);
    return this.#fallBack(request, error, health);
  }

  /** The decision of `onStoreError`, marked as made without the shared store. */
  #fallBack(request: TakeRequest, error: Error, health: StoreHealth): Promise<RateLimitDecision> {
    const storeError = { fallback: this.#settings.mode, error };
    let decided: RateLimitDecision | Promise<RateLimitDecision>;
    try {
      decided = this.#decideWithout(request, health);
    } catch (thrown) {
      return Promise.reject(asError(thrown));
    }
    if (!isPromiseLike(decided)) return Promise.resolve({ ...decided, storeError });
    return decided.then((decision) => ({ ...decision, storeError }));
  }

  #decideWithout(request: TakeRequest, health: StoreHealth): RateLimitDecision | Promise<RateLimitDecision> {
    const { mode, clock } = this.#settings;
    if (this.#share !== undefined) return this.#share.take(request);
    if (mode === 'open') {
      return { allowed: true, waitMs: 0, remaining: Math.max(0, request.params.burst - (request.cost ?? 1)) };
    }
    return {
      allowed: false,
      retryAfterMs: Math.max(1, health.nextTrialAt - clock.now()),
      remaining: 0,
    };
  }

  #takeShared(request: TakeRequest, health: StoreHealth): Promise<RateLimitDecision> {
    return new Promise((resolve, reject) => {
      // What the caller got from the fallback after a timeout, for reconciling the late reply.
      let given: boolean | undefined;
      const fallBack = (error: Error): void => {
        this.#fallBack(request, error, health).then((decision) => {
          given = decision.allowed;
          resolve(decision);
        }, reject);
      };
      const pending = this.#deadlines.track(() => {
        const error = new StoreTimeoutError(this.#settings.timeoutMs);
        this.#primary.stalled?.(request);
        // On a connection the client calls healthy, one late reply is a stall, not an outage.
        if (this.#readiness?.state() === 'ready') health.late(error, this.#settings.timeoutMs);
        else health.failure(error);
        fallBack(error);
      });
      const answer: TakeCallback = (error, decision) => {
        if (!this.#deadlines.finish(pending)) {
          this.#reconcile(request, decision, given);
          return;
        }
        if (decision === undefined) {
          const failure = error ?? new Error('bulwark: the store answered neither a decision nor an error');
          health.failure(failure);
          fallBack(failure);
          return;
        }
        health.success();
        this.#share?.learn(request, decision);
        resolve(decision);
      };
      try {
        this.#ask(request, answer);
      } catch (error) {
        answer(asError(error), undefined);
      }
    });
  }

  /**
   * A reply that came after its decision was made by the fallback: Redis now holds a slot the
   * caller did not get, or lacks one the caller used. Charging the difference makes the shared
   * bucket count what was really sent.
   */
  #reconcile(request: TakeRequest, late: RateLimitDecision | undefined, given: boolean | undefined): void {
    if (late === undefined || given === undefined || late.allowed === given) return;
    const cost = request.cost ?? 1;
    this.#primary.charge?.(request, given ? cost : -cost);
  }
}

function notReady(state: 'connecting' | 'lost', waitedMs?: number): StoreNotReadyError {
  return state === 'lost'
    ? new StoreNotReadyError('STORE_DISCONNECTED', 'the Redis client lost its connection')
    : new StoreNotReadyError(
        'STORE_CONNECTING',
        waitedMs === undefined
          ? 'the Redis client is still connecting'
          : `the Redis client was not ready within connectWaitMs (${waitedMs} ms)`,
      );
}
