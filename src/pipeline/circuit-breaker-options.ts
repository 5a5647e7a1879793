/**
 * The circuit breaker row of the stage table: the `circuitBreaker` option (type, keys, parse), a
 * request's override, and the breaker stages (the fleet's shared circuits, then this node's).
 */
import { invalidRequest, invalidOption } from '../errors.js';
import { BREAKER_OPTION_KEYS, DEFAULT_OPEN_MS } from '../policies/breaker-options.js';
import { CircuitBreakers, type CircuitBreakersOptions } from '../policies/circuit-breakers.js';
import type { CircuitStore } from '../policies/store-contract.js';
import { checkFunction, checkKeys, checkObject, isRecord, optionKeys } from '../validate.js';
import type { AttemptOutcome, BreakerOverride } from './call-policies.js';
import { createBreakerStage } from './breaker-stage.js';
import { defaultIsFailure } from './outcome.js';
import { checkPolicyKey, type PolicyKey } from './policy-key.js';
import { createSharedCircuitStage } from './shared-circuit-stage.js';
import { policyRow, type BuiltRow, type BuiltStage, type StageEnv } from './stage-descriptor.js';

/** Circuit breaker options of a client. */
export type CircuitBreakerClientOptions = Omit<CircuitBreakersOptions, 'clock' | 'onStateChange'> & {
  /**
   * Which circuit a request belongs to: a fixed string (one circuit for the whole client, as
   * HTTPower's `circuit_breaker_key`), or a function of the request returning a non-empty string.
   * A fixed string takes precedence over the request's `key` option; a function receives it.
   * @default the request's `key`, else its origin (one circuit per origin)
   * @example circuitBreaker: { key: (req) => `${req.origin}${req.path.split('/', 2).join('/')}` }
   */
  key?: PolicyKey;
  /** Shares circuit state across nodes (`redisCircuitStore` of `bulwark/redis`). @default none: each process decides alone */
  store?: CircuitStore;
  /** Judges an attempt: true counts a failure, false a success. @default network errors, timeouts, 5xx other than 503 (429, 503 and a 504 under the caller's propagated deadline are load signals: not counted) */
  isFailure?: (outcome: AttemptOutcome) => boolean;
};

/** A request's `circuitBreaker`. */
export interface RequestCircuitBreakerOptions {
  /** Judges this call's attempts: true counts a failure. @default the client's (network errors, timeouts, 5xx, 429) */
  isFailure?: (outcome: AttemptOutcome) => boolean;
}

/** The breaker's own options, but `clock` and `onStateChange` (the client supplies them), and the client's own. */
const CLIENT_KEYS = optionKeys<CircuitBreakerClientOptions>()([
  ...BREAKER_OPTION_KEYS.filter(
    (k): k is Exclude<typeof k, 'clock' | 'onStateChange'> => k !== 'clock' && k !== 'onStateChange',
  ),
  'idleTimeout',
  'isFailure',
  'store',
]);
const REQUEST_KEYS = optionKeys<RequestCircuitBreakerOptions>()(['isFailure']);

interface BreakerSettings {
  /** The breakers' own options (what `CircuitBreakers` validates). */
  readonly breaker: CircuitBreakersOptions;
  readonly isFailure: (outcome: AttemptOutcome) => boolean;
  readonly store: CircuitStore | undefined;
  readonly key: PolicyKey | undefined;
}

/** The circuit breaker: on unless `circuitBreaker: false`; inside the retry, outside the limiters. */
export const circuitBreakerRow = policyRow<'circuitBreaker', BreakerSettings, BuiltRow>({
  name: 'circuitBreaker',
  parse: (options) => (options.circuitBreaker === false ? undefined : parseBreaker(options.circuitBreaker)),
  build: buildBreaker,
  request: (value) => {
    if (value === undefined || value === false) return value;
    if (!isRecord(value)) throw invalidRequest('circuitBreaker', value, 'an object or false');
    checkKeys('request', 'circuitBreaker', value, REQUEST_KEYS);
    const isFailure = checkFunction('request', 'circuitBreaker.isFailure', value.isFailure) as
      BreakerOverride['isFailure'] | undefined;
    return isFailure === undefined ? {} : { isFailure };
  },
});

function parseBreaker(value: unknown): BreakerSettings {
  const section = checkObject('options', 'circuitBreaker', value) ?? {};
  checkKeys('options', 'circuitBreaker', section, CLIENT_KEYS);
  const { isFailure, store, key, ...breaker } = section;
  if (
    store !== undefined &&
    (typeof store !== 'object' || typeof (store as Partial<CircuitStore>).check !== 'function')
  ) {
    throw invalidOption(
      'circuitBreaker.store',
      store,
      'a CircuitStore such as redisCircuitStore({ client })',
    );
  }
  return {
    // Each value is checked by the breakers themselves, naming `circuitBreaker.<option>`.
    breaker: breaker,
    isFailure: (checkFunction('options', 'circuitBreaker.isFailure', isFailure) ?? defaultIsFailure) as (
      o: AttemptOutcome,
    ) => boolean,
    store: store as CircuitStore | undefined,
    key: checkPolicyKey('circuitBreaker.key', key),
  };
}

function buildBreaker(settings: BreakerSettings, env: StageEnv): BuiltRow {
  const { store, key, isFailure } = settings;
  const { clock, events } = env;
  const breakers: CircuitBreakers = new CircuitBreakers({
    ...settings.breaker,
    clock,
    onStateChange: (change) => {
      events.circuitTransition(
        change.key,
        change.from,
        change.to,
        change.failureRatio,
        change.openMs,
        change.reason,
      );
      const state = breakers.peek(change.key)?.state;
      if (state?.state === 'isolated') waiting.opened(change.key, Number.POSITIVE_INFINITY);
      if (state?.state !== 'open') return;
      waiting.opened(change.key, state.until);
      // A trip on this node opens the circuit for the fleet.
      if (store !== undefined) {
        Promise.resolve(store.open(change.key, Math.max(1, state.until - clock.now()))).catch(
          () => undefined,
        );
      }
    },
  });
  const waiting = new WaitingRetries();
  events.observeCircuits(breakers);
  env.gates.push((ctx, delayMs) => {
    if (ctx.policies.circuitBreaker === false) return true;
    const state = breakers.peek(ctx.key)?.state;
    if (state?.state === 'isolated') return false;
    return state?.state !== 'open' || state.until <= clock.now() + delayMs;
  });
  env.wakers.push((ctx, dueAt, refuse) =>
    ctx.policies.circuitBreaker === false ? undefined : waiting.add(ctx.key, dueAt, refuse),
  );
  const stages: BuiltStage[] = [];
  if (store !== undefined) {
    const { maxOpenDuration, openDuration } = settings.breaker;
    stages.push({
      name: 'sharedCircuits',
      middleware: createSharedCircuitStage({
        store,
        isFailure,
        // The local breaker's default: at least a minute, never below openDuration.
        maxOpenDuration: maxOpenDuration ?? Math.max(DEFAULT_OPEN_MS, openDuration ?? 0),
        defaultLeaseMs: 10_000,
        deadlineHeader: env.deadlineHeader,
        key,
      }),
    });
  }
  stages.push({
    name: 'circuits',
    middleware: createBreakerStage(breakers, isFailure, { deadlineHeader: env.deadlineHeader, key }),
    inspect: () => breakers.snapshot(),
    close: () => {
      breakers.close();
    },
  });
  return { stages, circuits: { breakers, store, key, origin: env.origin } };
}

/** One call waiting for a retry: when it is due, and what ends its wait. */
interface WaitingRetry {
  readonly dueAt: number;
  readonly refuse: () => void;
}

/**
 * The calls that wait to retry through each circuit. When a circuit opens (or is isolated), the
 * waits whose retry would start while it is still open end at once: the breaker would refuse
 * that attempt, so sleeping out the backoff only adds latency to a call that fails anyway. A
 * wait due after the open period keeps waiting (its retry may be the probe).
 */
class WaitingRetries {
  readonly #byKey = new Map<string, Set<WaitingRetry>>();

  add(key: string, dueAt: number, refuse: () => void): () => void {
    let waits = this.#byKey.get(key);
    if (waits === undefined) {
      waits = new Set();
      this.#byKey.set(key, waits);
    }
    const wait: WaitingRetry = { dueAt, refuse };
    waits.add(wait);
    const held = waits;
    return () => {
      held.delete(wait);
      if (held.size === 0 && this.#byKey.get(key) === held) this.#byKey.delete(key);
    };
  }

  /** The circuit of `key` opened until `until` (infinity: isolated). */
  opened(key: string, until: number): void {
    const waits = this.#byKey.get(key);
    if (waits === undefined) return;
    for (const wait of waits) {
      if (wait.dueAt >= until) continue;
      waits.delete(wait);
      wait.refuse();
    }
    if (waits.size === 0) this.#byKey.delete(key);
  }
}
