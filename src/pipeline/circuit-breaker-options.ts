/**
 * The circuit breaker row of the stage table: the `circuitBreaker` option (type, keys, parse), a
 * request's override, and the breaker stages (the fleet's shared circuits, then this node's).
 */
import { invalidRequest, invalidOption } from '../errors.js';
import {
  BREAKER_OPTION_KEYS,
  resolveBreakerValues,
  type ResolvedBreakerOptions,
} from '../policies/breaker-options.js';
import type { CircuitStateChange } from '../policies/circuit-state.js';
import { CircuitBreakers, type CircuitBreakersOptions } from '../policies/circuit-breakers.js';
import type { CircuitStore } from '../policies/store-contract.js';
import { checkFunction, checkKeys, checkObject, isRecord, noSuchOption, optionKeys } from '../validate.js';
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
  /** The breakers' own options, resolved by the breaker's own rules. */
  readonly breaker: ResolvedBreakerOptions;
  readonly idleTimeout: number | undefined;
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
  // The one check of these names, in the breaker's own words (`new CircuitBreaker` says the same).
  checkKeys('options', 'circuitBreaker', section, CLIENT_KEYS, noSuchOption);
  const { isFailure, store, key, idleTimeout, ...breaker } = section;
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
    // Each value is checked by the breaker's own rules, naming `circuitBreaker.<option>`.
    breaker: resolveBreakerValues(breaker),
    idleTimeout: idleTimeout as number | undefined,
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
  const waiting = new WaitingRetries();
  const onStateChange = (change: CircuitStateChange): void => {
    events.circuitTransition(
      change.key,
      change.from,
      change.to,
      change.failureRatio,
      change.openMs,
      change.reason,
    );
    const state = breakers.peek(change.key)?.state;
    if (state?.state === 'isolated') waiting.opened(change.key);
    if (state?.state !== 'open') return;
    waiting.opened(change.key);
    // A trip on this node opens the circuit for the fleet.
    if (store !== undefined) {
      Promise.resolve(store.open(change.key, Math.max(1, state.until - clock.now()))).catch(() => undefined);
    }
  };
  const idle = settings.idleTimeout === undefined ? {} : { idleTimeout: settings.idleTimeout };
  const breakers = new CircuitBreakers(idle, { ...settings.breaker, clock, onStateChange });
  events.observeCircuits(breakers);
  env.gates.push((ctx, delayMs) => {
    if (ctx.policies.circuitBreaker === false) return true;
    const state = breakers.peek(ctx.key)?.state;
    if (state?.state === 'isolated') return false;
    return state?.state !== 'open' || state.until <= clock.now() + delayMs;
  });
  env.wakers.push((ctx, refuse) =>
    ctx.policies.circuitBreaker === false ? undefined : waiting.add(ctx.key, refuse),
  );
  const stages: BuiltStage[] = [];
  if (store !== undefined) {
    stages.push({
      name: 'sharedCircuits',
      middleware: createSharedCircuitStage({
        store,
        isFailure,
        maxOpenDuration: settings.breaker.maxOpenDuration,
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

/**
 * The calls that wait to retry through each circuit. When a circuit opens (or is isolated), their
 * waits end at once and each call returns its last answer or error: an open circuit fails fast,
 * and sleeping out a backoff (up to 700 ms with the default retries) only adds latency to calls
 * that, in an outage, fail anyway. The circuit's probe comes from the next call, not from a
 * retry kept waiting: in the lab's outage, waits outlived several 100 ms open periods, each
 * ending in a refusal or a failed probe, and they made the defaults' p99 there.
 */
class WaitingRetries {
  readonly #byKey = new Map<string, Set<() => void>>();

  add(key: string, refuse: () => void): () => void {
    let waits = this.#byKey.get(key);
    if (waits === undefined) {
      waits = new Set();
      this.#byKey.set(key, waits);
    }
    waits.add(refuse);
    const held = waits;
    return () => {
      held.delete(refuse);
      if (held.size === 0 && this.#byKey.get(key) === held) this.#byKey.delete(key);
    };
  }

  /** The circuit of `key` opened (or was isolated): every wait on it ends now. */
  opened(key: string): void {
    const waits = this.#byKey.get(key);
    if (waits === undefined) return;
    this.#byKey.delete(key);
    for (const refuse of waits) refuse();
  }
}
