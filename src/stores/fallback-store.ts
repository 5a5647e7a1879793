/**
 * What a global limit does when its store fails: a wrapper that gives every call to a remote
 * store (Redis) a deadline and, when the store errs or is late, decides by `onStoreError`:
 * - `'local'` (default): an in-process limiter with the same parameters takes over, so each node
 *   keeps its own limit (the global limit becomes per node, the rate-limiter-flexible "insurance"
 *   design); the shared limit resumes as soon as the store answers again;
 * - `'open'`: admit everything (availability first);
 * - `'closed'`: refuse everything (quota first), `retryAfterMs` until the next trial call.
 * While the store is down no call waits for it: one trial call per `probeIntervalMs` checks it.
 */
import { systemClock, type Clock } from '../clock.js';
import { asError, invalidOption, promiseOf } from '../errors.js';
import { checkFinite, isPositive } from '../validate.js';
import { MemoryStore } from '../policies/memory-store.js';
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
   * Deadline of one store call, ms. A call past it is decided by `onStoreError`; its late reply is dropped.
   * @default 100
   */
  readonly timeoutMs?: number;
  /**
   * Behaviour while the store fails or is late.
   * @default 'local'
   */
  readonly onStoreError?: StoreErrorMode;
  /**
   * While the store is down, one call per interval tries it again, ms.
   * @default 1000
   */
  readonly probeIntervalMs?: number;
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

const POSITIVE_MS = 'a positive number of milliseconds';

function hasTakeInto(store: RateLimitStore): store is CallbackRateLimitStore {
  return typeof (store as Partial<CallbackRateLimitStore>).takeInto === 'function';
}

/** Wraps `primary` (usually the Redis store) with a deadline per call and the `onStoreError` policy. */
export function fallbackStore(primary: RateLimitStore, options: FallbackStoreOptions = {}): FallbackStore {
  const mode = options.onStoreError ?? 'local';
  if (!MODES.includes(mode)) throw invalidOption('onStoreError', mode, "'local', 'open' or 'closed'");
  const timeoutMs = checkFinite('options', 'timeoutMs', options.timeoutMs, isPositive, POSITIVE_MS) ?? 100;
  const clock = options.clock ?? systemClock;
  const deadlines = new DeadlineQueue(timeoutMs, options.clock);
  const health = new StoreHealth({
    store: options.name ?? 'redis',
    mode,
    clock,
    probeIntervalMs:
      checkFinite('options', 'probeIntervalMs', options.probeIntervalMs, isPositive, POSITIVE_MS) ?? 1_000,
    logger: options.logger,
    onEvent: options.onEvent,
  });
  if (options.local !== undefined && !isRateLimitStore(options.local)) {
    throw invalidOption(
      'local',
      options.local,
      'a RateLimitStore (take and hold methods), e.g. new MemoryStore()',
    );
  }
  let local: RateLimitStore | undefined = options.local;
  const localStore = (): RateLimitStore => (local ??= new MemoryStore({ clock }));

  const decideWithout = (request: TakeRequest): RateLimitDecision | Promise<RateLimitDecision> => {
    if (mode === 'local') return localStore().take(request);
    if (mode === 'open') {
      return { allowed: true, waitMs: 0, remaining: Math.max(0, request.params.burst - (request.cost ?? 1)) };
    }
    return { allowed: false, retryAfterMs: Math.max(1, health.nextTrialAt - clock.now()), remaining: 0 };
  };

  const call = <T>(run: () => T | Promise<T>): Promise<T> => deadlines.run(promiseOf(run));
  // Callback stores (Redis) answer straight from the reply; a promise store is adapted once here,
  // so there is one path below: one promise per decision.
  const ask: (request: TakeRequest, done: TakeCallback) => void = hasTakeInto(primary)
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

  const takeShared = (request: TakeRequest): Promise<RateLimitDecision> =>
    new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        health.failure(error);
        // The decision says the shared store failed on it, for the limiter's `store-error` event.
        const storeError = { fallback: mode, error };
        let decided: RateLimitDecision | Promise<RateLimitDecision>;
        try {
          decided = decideWithout(request);
        } catch (thrown) {
          reject(asError(thrown));
          return;
        }
        if (!isPromiseLike(decided)) {
          resolve({ ...decided, storeError });
          return;
        }
        decided.then((decision) => {
          resolve({ ...decision, storeError });
        }, reject);
      };
      const pending = deadlines.track(() => {
        fail(new StoreTimeoutError(timeoutMs));
      });
      try {
        ask(request, (error, decision) => {
          if (!deadlines.finish(pending)) return;
          if (decision === undefined) {
            fail(error ?? new Error('bulwark: the store answered neither a decision nor an error'));
            return;
          }
          health.success();
          resolve(decision);
        });
      } catch (error) {
        if (deadlines.finish(pending)) fail(asError(error));
      }
    });

  return {
    get degraded() {
      return health.down;
    },

    take(request) {
      if (!health.shouldTry()) return Promise.resolve(decideWithout(request));
      return takeShared(request);
    },

    async hold(key, params, forMs) {
      // The local bucket learns every hold, so a fallback during the server's hold still honours it.
      if (mode === 'local') await localStore().hold(key, params, forMs);
      if (!health.shouldTry()) return;
      try {
        await call(() => primary.hold(key, params, forMs));
        health.success();
      } catch (error) {
        health.failure(error);
      }
    },

    async close() {
      await local?.close?.();
      await primary.close?.();
    },
  };
}
