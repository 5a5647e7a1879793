/**
 * `bulwark/redis`: rate limits shared by every process and machine through Redis, and, when asked,
 * shared circuit state. One Lua script (GCRA, the same math as the in-memory store) and one round
 * trip per decision; keys `${prefix}:{${key}}:rl` carry a hash tag for Redis Cluster and expire
 * when the bucket is full again. Works with ioredis and node-redis (v4+) clients, which it never
 * closes. When Redis fails, `onStoreError` decides (see {@link fallbackStore}).
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { redisStore } from 'bulwark/redis';
 * const client = new Redis({ enableOfflineQueue: false });
 * createClient({ rateLimit: { requests: 5000, per: 'hour', store: redisStore({ client }) } });
 */
import { intervalMicros, toMicros } from '../policies/gcra.js';
import { fallbackStore, type FallbackStore, type FallbackStoreOptions } from './fallback-store.js';
import { redisKey, scriptRunner, type RedisClientLike, type ScriptRunner } from './redis-client.js';
import { HOLD_SCRIPT, TAKE_SCRIPT } from './redis-gcra.lua.js';
import type { GcraParams, RateLimitDecision, RateLimitStore, TakeRequest } from './store.js';

export { redisCircuitStore } from './redis-circuit.js';
export type { RedisCircuitStore, RedisCircuitStoreOptions } from './redis-circuit.js';
export type { IoredisLikeClient, NodeRedisLikeClient, RedisClientLike } from './redis-client.js';
export type { FallbackStore, StoreErrorMode } from './fallback-store.js';
export type { StoreEvent, StoreLogger } from './store-health.js';
export type { CircuitStore, SharedCircuitState } from './store.js';

/** Options of {@link redisStore}. */
export interface RedisStoreOptions extends Omit<FallbackStoreOptions, 'name'> {
  /**
   * An ioredis (`Redis` or `Cluster`) or node-redis v4+ client, connected by the caller and never
   * closed by bulwark. With ioredis, `enableOfflineQueue: false` makes an outage fail fast instead
   * of waiting for `timeoutMs`.
   */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key: `${prefix}:{${key}}:rl`.
   * @default 'bulwark'
   */
  readonly prefix?: string;
}

// Larger waits are no wait limit at all; keeps the Lua number finite.
const MAX_WAIT_US = 2 ** 52;

function parseDecision(reply: unknown): RateLimitDecision {
  if (Array.isArray(reply) && reply.length === 3) {
    const [allowed, ms, remaining] = reply as unknown[];
    if (typeof ms === 'number' && typeof remaining === 'number') {
      if (allowed === 1) return { allowed: true, waitMs: ms, remaining };
      if (allowed === 0) return { allowed: false, retryAfterMs: ms, remaining };
    }
  }
  // A reply we do not understand must never read as "allowed" (E10): it counts as a store failure.
  throw new TypeError('bulwark: unexpected reply from the Redis rate-limit script');
}

/**
 * The Redis store without a fallback: every call is one EVALSHA and rejects when Redis does.
 * {@link redisStore} wraps it with a deadline and the `onStoreError` policy.
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;

  constructor(options: { readonly client: RedisClientLike; readonly prefix?: string }) {
    this.#runner = scriptRunner(options.client, 'rateLimit.store.client');
    this.#prefix = options.prefix ?? 'bulwark';
    // Warm the script cache so the first decision is one round trip; a failure here is harmless
    // (EVALSHA falls back to EVAL after NOSCRIPT).
    this.#runner.load(TAKE_SCRIPT).catch(() => undefined);
  }

  /** The Redis key of `key`'s bucket. */
  keyOf(key: string): string {
    return redisKey(this.#prefix, key, 'rl');
  }

  /** One atomic GCRA decision in Redis. */
  take(request: TakeRequest): Promise<RateLimitDecision> {
    const w = request.maxWaitMs >= MAX_WAIT_US / 1000 ? MAX_WAIT_US : toMicros(request.maxWaitMs);
    const args = [
      String(intervalMicros(request.params)),
      String(request.params.burst),
      String(request.cost ?? 1),
      String(w),
    ];
    return this.#runner.run(TAKE_SCRIPT, [this.keyOf(request.key)], args).then(parseDecision);
  }

  /** Grants nothing on `key`, on every node, before `forMs` from now (Redis time). */
  async hold(key: string, params: GcraParams, forMs: number): Promise<void> {
    const args = [String(intervalMicros(params)), String(params.burst), String(toMicros(Math.max(0, forMs)))];
    await this.#runner.run(HOLD_SCRIPT, [this.keyOf(key)], args);
  }
}

/**
 * A {@link RateLimitStore} on Redis: one limit for every process that uses the same Redis and
 * prefix. Each call has a deadline (`timeoutMs`); when Redis fails or is late, `onStoreError`
 * decides: `'local'` (default, an in-process limiter with the same parameters, warned once),
 * `'open'` (admit) or `'closed'` (refuse). Shared decisions resume by themselves when Redis
 * answers again (one trial call per second while it is down).
 */
export function redisStore(options: RedisStoreOptions): FallbackStore {
  const primary = new RedisRateLimitStore(options);
  return fallbackStore(primary, { ...options, name: 'redis' });
}
