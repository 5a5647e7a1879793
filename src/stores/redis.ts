/**
 * `bulwark/redis`: rate limits shared by every process and machine through Redis, and, when asked,
 * shared circuit state. One Lua script (GCRA, the same math as the in-memory store) and at most
 * one round trip per decision: decisions asked for in the same event-loop turn share one call.
 * Keys `${prefix}:{${key}}:rl` carry a hash tag for Redis Cluster and expire when the bucket is
 * full again (at least 1 s after their last admission). Works with ioredis and node-redis (v4+)
 * clients and clusters, which it never closes. When Redis fails, `onStoreError` decides (see
 * {@link fallbackStore}).
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { redisStore } from 'bulwark/redis';
 * const client = new Redis({ enableOfflineQueue: false });
 * createClient({ rateLimit: { requests: 5000, per: 'hour', store: redisStore({ client }) } });
 */
import { gcraDecision, intervalMicros, toMicros } from '../policies/gcra.js';
import { fallbackStore, type FallbackStore, type FallbackStoreOptions } from './fallback-store.js';
import { checkKeys, checkNumber, checkString, requireRecord } from '../validate.js';
import { keySlot } from './cluster-slot.js';
import {
  isClusterClient,
  redisKey,
  scriptRunner,
  type RedisClientLike,
  type ScriptRunner,
} from './redis-client.js';
import { HOLD_SCRIPT, TAKE_SCRIPT } from './redis-gcra.lua.js';
import type {
  CallbackRateLimitStore,
  GcraParams,
  RateLimitDecision,
  TakeCallback,
  TakeRequest,
} from '../policies/store-contract.js';

export { redisCircuitStore } from './redis-circuit.js';
export { redisCacheStore, RedisCacheStore, type RedisCacheStoreOptions } from './redis-cache.js';
export type { CacheStore, CacheEntry } from '../policies/cache-store.js';
export type { RedisCircuitStore, RedisCircuitStoreOptions } from './redis-circuit.js';
export type { IoredisLikeClient, NodeRedisLikeClient, RedisClientLike } from './redis-client.js';
export type { FallbackStore, StoreErrorMode } from './fallback-store.js';
export type { StoreEvent, StoreLogger } from './store-health.js';
export type { CircuitStore, SharedCircuitState } from '../policies/store-contract.js';

/** Options of {@link RedisRateLimitStore}. */
export interface RedisRateLimitStoreOptions {
  /**
   * An ioredis (`Redis` or `Cluster`) or node-redis v4+ client (or cluster), connected by the
   * caller and never closed by bulwark. With ioredis, `enableOfflineQueue: false` makes an outage
   * fail fast instead of waiting for `timeoutMs`.
   */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key: `${prefix}:{${key}}:rl`.
   * @default 'bulwark'
   */
  readonly prefix?: string;
  /**
   * Most decisions sent in one script call. Decisions asked for in the same turn of the event loop
   * travel together (in order, each still atomic, at one Redis time), so under concurrency Redis
   * runs one script for many decisions; `1` sends each decision on its own. With a Cluster client
   * a batch only holds keys of one hash slot.
   * @default 64
   */
  readonly maxBatch?: number;
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions extends RedisRateLimitStoreOptions, Omit<FallbackStoreOptions, 'name'> {}

// Larger waits are no wait limit at all; keeps the Lua number finite.
const MAX_WAIT_US = 2 ** 52;
const MAX_BATCH_LIMIT = 1_000;

const STORE_KEYS = [
  'client',
  'prefix',
  'maxBatch',
  'timeoutMs',
  'onStoreError',
  'probeIntervalMs',
  'local',
  'logger',
  'onEvent',
  'clock',
];

const badReply = (): TypeError => new TypeError('bulwark: unexpected reply from the Redis rate-limit script');

interface Queued {
  readonly key: string;
  /** c × T, B × T and W, µs, as the script reads them. */
  readonly args: readonly [string, string, string];
  readonly t: number;
  readonly burst: number;
  readonly done: TakeCallback;
}

/**
 * The Redis store without a fallback: decisions of one event-loop turn go as one EVALSHA (at most
 * `maxBatch` each, one hash slot each on a Cluster), and reject when Redis does.
 * {@link redisStore} wraps it with a deadline and the `onStoreError` policy.
 */
export class RedisRateLimitStore implements CallbackRateLimitStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #cluster: boolean;
  #queue: Queued[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(options: RedisRateLimitStoreOptions) {
    this.#runner = scriptRunner(options.client, 'rateLimit.store.client');
    this.#prefix = checkString('options', 'rateLimit.store.prefix', options.prefix) ?? 'bulwark';
    this.#maxBatch =
      checkNumber('options', 'rateLimit.store.maxBatch', options.maxBatch, 1, MAX_BATCH_LIMIT, true) ?? 64;
    this.#cluster = isClusterClient(options.client);
    // Warm the script cache so the first decision is one round trip; a failure here is harmless
    // (EVALSHA falls back to EVAL after NOSCRIPT).
    this.#runner.load(TAKE_SCRIPT).catch(() => undefined);
  }

  /** The Redis key of `key`'s bucket. */
  keyOf(key: string): string {
    return redisKey(this.#prefix, key, 'rl');
  }

  /** One atomic GCRA decision in Redis, sent with the other decisions of this turn. */
  take(request: TakeRequest): Promise<RateLimitDecision> {
    return new Promise((resolve, reject) => {
      this.takeInto(request, (error, decision) => {
        if (decision === undefined) reject(error ?? badReply());
        else resolve(decision);
      });
    });
  }

  /** {@link take} through a callback, called once when the reply (or the failure) arrives. */
  takeInto(request: TakeRequest, done: TakeCallback): void {
    const t = intervalMicros(request.params);
    const burst = request.params.burst;
    const w = request.maxWaitMs >= MAX_WAIT_US / 1000 ? MAX_WAIT_US : toMicros(request.maxWaitMs);
    const args = [String((request.cost ?? 1) * t), String(burst * t), String(w)] as const;
    const entry: Queued = { key: this.keyOf(request.key), args, t, burst, done };
    // Nothing on the wire: this decision goes now (one in flight never waits for a batch).
    if (this.#inFlight === 0 && !this.#scheduled) {
      this.#send([entry]);
      return;
    }
    // Otherwise it joins the others of this turn, sent together after the current microtasks.
    this.#queue.push(entry);
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flush);
  }

  /** Grants nothing on `key`, on every node, before `forMs` from now (Redis time). */
  async hold(key: string, params: GcraParams, forMs: number): Promise<void> {
    const t = intervalMicros(params);
    const held = toMicros(Math.max(0, forMs)) + (params.burst - 1) * t;
    await this.#runner.run(HOLD_SCRIPT, [this.keyOf(key)], [String(held), String(params.burst * t)]);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    if (!this.#cluster) {
      this.#sendInChunks(queue);
      return;
    }
    const bySlot = new Map<number, Queued[]>();
    for (const entry of queue) {
      const slot = keySlot(entry.key);
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, [entry]);
      else group.push(entry);
    }
    for (const group of bySlot.values()) this.#sendInChunks(group);
  };

  #sendInChunks(entries: Queued[]): void {
    const size = this.#maxBatch;
    if (entries.length <= size) this.#send(entries);
    else for (let i = 0; i < entries.length; i += size) this.#send(entries.slice(i, i + size));
  }

  #send(batch: readonly Queued[]): void {
    const keys: string[] = [];
    const args: string[] = [];
    for (const entry of batch) {
      keys.push(entry.key);
      args.push(...entry.args);
    }
    this.#inFlight++;
    this.#runner.call(
      TAKE_SCRIPT,
      keys,
      args,
      (reply) => {
        this.#inFlight--;
        // A reply we do not understand must never read as "allowed" (E10): it counts as a store failure.
        const ok = Array.isArray(reply) && reply.length === batch.length * 3;
        for (let i = 0; i < batch.length; i++) {
          const entry = batch[i];
          if (entry === undefined) continue;
          const allowed: unknown = ok ? reply[3 * i] : undefined;
          const wait: unknown = ok ? reply[3 * i + 1] : undefined;
          const debt: unknown = ok ? reply[3 * i + 2] : undefined;
          if ((allowed === 1 || allowed === 0) && typeof wait === 'number' && typeof debt === 'number') {
            entry.done(undefined, gcraDecision(allowed === 1, wait, debt, entry.t, entry.burst));
          } else {
            entry.done(badReply(), undefined);
          }
        }
      },
      (error) => {
        this.#inFlight--;
        for (const entry of batch) entry.done(error, undefined);
      },
    );
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
  checkKeys('options', 'rateLimit.store', requireRecord('options', 'rateLimit.store', options), STORE_KEYS);
  const primary = new RedisRateLimitStore(options);
  return fallbackStore(primary, { ...options, name: 'redis' });
}
