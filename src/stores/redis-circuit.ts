/**
 * Circuit state shared through Redis (`circuitBreaker: { store: redisCircuitStore({ client }) }`).
 * A node that opens a circuit writes `until:openMs` under `${prefix}:{key}:cb`, kept `openMs +
 * halfOpenTtlMs`; every node reads it with one small script per decision, with time from Redis
 * (`TIME`), so it is open everywhere from their next decision. Past `until` the circuit is
 * half-open until a node closes it; the probe is leased with `SET NX PX`, so one node probes at a
 * time. The state is advisory: when Redis fails, each node's own breaker decides alone.
 */
import { systemClock, type Clock } from '../clock.js';
import {
  checkFinite,
  checkKeys,
  checkString,
  isPositive,
  requireFinite,
  requireRecord,
} from '../validate.js';
import { asError } from '../errors.js';
import { clientReadiness } from './client-readiness.js';
import { luaScript, redisKey, scriptRunner, type RedisClientLike } from './redis-client.js';
import { StoreHealth, type StoreEvent, type StoreLogger } from './store-health.js';
import { DeadlineQueue } from './store-timeout.js';
import type { CircuitStore, SharedCircuitState } from '../policies/store-contract.js';

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: state, probe. Returns {0} closed, {1, retryAfterMs, openMs} open, {2, openMs, probing} half-open. */
const CHECK = luaScript(
  'bulwark-circuit-check',
  `local v = redis.call('GET', KEYS[1])
if not v then return {0} end
local sep = string.find(v, ':', 1, true)
if not sep then return {0} end
local untilMs = tonumber(string.sub(v, 1, sep - 1))
local openMs = tonumber(string.sub(v, sep + 1))
if not untilMs or not openMs then return {0} end
${NOW}
if now < untilMs then return {1, untilMs - now, openMs} end
return {2, openMs, redis.call('EXISTS', KEYS[2])}`,
);

/** KEYS: state, probe. ARGV: openMs, halfOpenTtlMs. A shorter open never cuts a longer one short. */
const OPEN = luaScript(
  'bulwark-circuit-open',
  `${NOW}
local openMs = tonumber(ARGV[1])
local untilMs = now + openMs
local v = redis.call('GET', KEYS[1])
if v then
  local sep = string.find(v, ':', 1, true)
  local current = sep and tonumber(string.sub(v, 1, sep - 1))
  if current and current > untilMs then
    redis.call('DEL', KEYS[2])
    return 0
  end
end
redis.call('SET', KEYS[1], string.format('%d:%d', untilMs, openMs), 'PX', openMs + tonumber(ARGV[2]))
redis.call('DEL', KEYS[2])
return 1`,
);

/** KEYS: state, probe. */
const CLOSE = luaScript('bulwark-circuit-close', `return redis.call('DEL', KEYS[1], KEYS[2])`);

/** KEYS: probe. ARGV: owner, leaseMs. */
const ACQUIRE = luaScript(
  'bulwark-circuit-probe',
  `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`,
);

/** Options of {@link redisCircuitStore}. */
export interface RedisCircuitStoreOptions {
  /** An ioredis or node-redis (v4+) client; bulwark never closes it. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key: `${prefix}:{${key}}:cb` and `${prefix}:{${key}}:probe`.
   * @default 'bulwark'
   */
  readonly prefix?: string;
  /**
   * Deadline of one Redis call, ms; past it the node decides alone.
   * @default 100
   */
  readonly timeoutMs?: number;
  /**
   * How long the half-open state outlives the open period when no node closes it, ms.
   * @default 60000
   */
  readonly halfOpenTtlMs?: number;
  /**
   * While Redis is down, one call per interval tries it again, ms.
   * @default 1000
   */
  readonly probeIntervalMs?: number;
  /** Told once when Redis goes down and once when it is back (pino-compatible). */
  readonly logger?: StoreLogger;
  /** Called once when Redis goes down and once when it is back. */
  readonly onEvent?: (event: StoreEvent) => void;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** A {@link CircuitStore} whose methods never reject: on Redis trouble they answer as a lone node would. */
export interface RedisCircuitStore extends CircuitStore {
  check(key: string): Promise<SharedCircuitState>;
  open(key: string, forMs: number): Promise<void>;
  close(key: string): Promise<void>;
  acquireProbe(key: string, leaseMs: number): Promise<boolean>;
}

const CLOSED: SharedCircuitState = { state: 'closed' };

function parseState(reply: unknown): SharedCircuitState {
  if (!Array.isArray(reply)) throw new TypeError('unexpected reply to the circuit check script');
  const [kind, a, b] = reply as unknown[];
  if (kind === 0) return CLOSED;
  if (typeof a !== 'number' || typeof b !== 'number') {
    throw new TypeError('unexpected reply to the circuit check script');
  }
  if (kind === 1) return { state: 'open', retryAfterMs: a, openMs: b };
  if (kind === 2) return { state: 'half-open', openMs: a, probing: b === 1 };
  throw new TypeError('unexpected reply to the circuit check script');
}

const POSITIVE_MS = 'a positive number of milliseconds';

function milliseconds(path: string, value: number | undefined, fallback: number): number {
  return checkFinite('options', path, value, isPositive, POSITIVE_MS) ?? fallback;
}

const STORE_KEYS = [
  'client',
  'prefix',
  'timeoutMs',
  'halfOpenTtlMs',
  'probeIntervalMs',
  'logger',
  'onEvent',
  'clock',
] as const satisfies readonly (keyof RedisCircuitStoreOptions)[];

/** Runs one Redis call, or answers `otherwise` (as a lone node would) when Redis cannot or did not answer in time. */
type GuardedCall = <T>(run: () => Promise<unknown>, parse: (reply: unknown) => T, otherwise: T) => Promise<T>;

/** Creates a {@link CircuitStore} on Redis. */
export function redisCircuitStore(options: RedisCircuitStoreOptions): RedisCircuitStore {
  checkKeys(
    'options',
    'circuitBreaker.store',
    requireRecord('options', 'circuitBreaker.store', options),
    STORE_KEYS,
  );
  const runner = scriptRunner(options.client, 'circuitBreaker.store.client');
  const prefix = checkString('options', 'circuitBreaker.store.prefix', options.prefix) ?? 'bulwark';
  const halfOpenTtlMs = String(
    Math.ceil(milliseconds('circuitBreaker.store.halfOpenTtlMs', options.halfOpenTtlMs, 60_000)),
  );
  const owner = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
  const call = guardedCall(options);
  const keys = (key: string): string[] => [redisKey(prefix, key, 'cb'), redisKey(prefix, key, 'probe')];
  const ignore = (): undefined => undefined;
  const ms = (path: string, value: number): string =>
    String(Math.ceil(requireFinite('options', path, value, isPositive, POSITIVE_MS)));

  return {
    check: (key) => call(() => runner.run(CHECK, keys(key), []), parseState, CLOSED),
    open: (key, forMs) => {
      const args = [ms('forMs', forMs), halfOpenTtlMs];
      return call(() => runner.run(OPEN, keys(key), args), ignore, undefined);
    },
    close: (key) => call(() => runner.run(CLOSE, keys(key), []), ignore, undefined),
    acquireProbe: (key, leaseMs) => {
      const args = [owner, ms('leaseMs', leaseMs)];
      const probeKey = [redisKey(prefix, key, 'probe')];
      // Without Redis each node's own breaker allows its own probe.
      return call(
        () => runner.run(ACQUIRE, probeKey, args),
        (reply) => reply === 1,
        true,
      );
    },
  };
}

/** The store's calls to Redis, each bounded by `timeoutMs` and skipped while the store is unhealthy. */
function guardedCall(options: RedisCircuitStoreOptions): GuardedCall {
  const health = new StoreHealth({
    store: 'redis-circuit',
    mode: 'local',
    clock: options.clock ?? systemClock,
    probeIntervalMs: milliseconds('circuitBreaker.store.probeIntervalMs', options.probeIntervalMs, 1_000),
    logger: options.logger,
    onEvent: options.onEvent,
  });
  const timeoutMs = milliseconds('circuitBreaker.store.timeoutMs', options.timeoutMs, 100);
  const deadlines = new DeadlineQueue(timeoutMs, options.clock);
  const readiness = clientReadiness(options.client);
  return async (run, parse, otherwise) => {
    // A client without a connection answers as a lone node would, at once (no deadline paid).
    if (readiness?.state() === 'lost') {
      health.failure(new Error('the Redis client has no connection'));
      return otherwise;
    }
    if (!health.shouldTry()) return otherwise;
    try {
      const value = parse(await deadlines.run(run()));
      health.success();
      return value;
    } catch (error) {
      health.failure(asError(error));
      return otherwise;
    }
  };
}
