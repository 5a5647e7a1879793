/**
 * `bulwark/redis`: rate limits shared by every process and machine through Redis, and, when asked,
 * shared circuit state. One Lua script (GCRA, the same math as the in-memory store) and at most
 * one round trip per decision: decisions asked for in the same event-loop turn share one call (on a
 * Cluster, one call per master).
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
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
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
import { HOLD_SCRIPT, PRESENCE_MS, TAKE_NODE_SCRIPT, TAKE_REPLY, TAKE_SCRIPT } from './redis-gcra.lua.js';
import { ClusterWatch, clusterTopology, type ClusterTopology } from './cluster-topology.js';
import { clientReadiness, type ClientReadiness } from './client-readiness.js';
import { Presence } from './presence.js';
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
   * a batch holds the keys of one master (one hash slot on Redis before 7).
   * @default 64
   */
  readonly maxBatch?: number;
  /** Source of time for the presence beats. @default systemClock */
  readonly clock?: Clock;
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
  'connectWaitMs',
  'nodes',
  'logAfterMs',
  'local',
  'logger',
  'onEvent',
  'clock',
];

const ignore = (): void => undefined;

/** A master that cannot run a flagged script (Redis before 7 reads `#!lua` as a syntax error). */
const scriptRefused = (error: Error): boolean =>
  /Error compiling script|Unknown lua shebang|unexpected symbol near '#'/i.test(error.message);

const badReply = (): TypeError => new TypeError('bulwark: unexpected reply from the Redis rate-limit script');

interface Queued {
  readonly key: string;
  /** The limiter's key, when this decision carries this node's presence beat for it. */
  readonly beat: string | undefined;
  /** c × T, B × T and W, µs, as the script reads them. */
  readonly args: readonly [string, string, string];
  readonly t: number;
  readonly burst: number;
  readonly done: TakeCallback;
}

/**
 * The Redis store without a fallback: decisions of one event-loop turn go as one EVALSHA (at most
 * `maxBatch` each, one master each on a Cluster), and reject when Redis does.
 * {@link redisStore} wraps it with a deadline and the `onStoreError` policy.
 */
export class RedisRateLimitStore implements CallbackRateLimitStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #cluster: boolean;
  /** The cluster's slot map, when the client has one (batches then go one per master). */
  readonly #topology: ClusterTopology | undefined;
  readonly #watch: ClusterWatch | undefined;
  /** False once a master refused the per-master script (Redis before 7): batches go per slot. */
  #perNode = true;
  readonly #presence: Presence;
  readonly #node = randomBytes(6).toString('hex');
  #queue: Queued[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(options: RedisRateLimitStoreOptions) {
    this.#runner = scriptRunner(options.client, 'rateLimit.store.client');
    this.#prefix = checkString('options', 'rateLimit.store.prefix', options.prefix) ?? 'bulwark';
    this.#maxBatch =
      checkNumber('options', 'rateLimit.store.maxBatch', options.maxBatch, 1, MAX_BATCH_LIMIT, true) ?? 64;
    this.#cluster = isClusterClient(options.client);
    this.#topology = this.#cluster ? clusterTopology(options.client) : undefined;
    this.#watch = this.#topology === undefined ? undefined : new ClusterWatch(this.#topology);
    this.readiness = clientReadiness(options.client);
    this.#presence = new Presence(options.clock ?? systemClock, PRESENCE_MS);
    // Warm the script cache so the first decision is one round trip; a failure here is harmless
    // (EVALSHA falls back to EVAL after NOSCRIPT).
    this.#runner.load(TAKE_SCRIPT).catch(() => undefined);
  }

  /** What the client says of its connection (undefined for a client that says nothing). */
  readonly readiness: ClientReadiness | undefined;

  /** Nodes seen sharing `key` in the last few seconds (their presence beats), if known. */
  sharers(key: string): number | undefined {
    return this.#presence.nodes(key);
  }

  /**
   * Puts `cost` tokens on `request.key`'s bucket whatever it holds (negative gives them back):
   * reconciles a late reply with what the caller was told. Fire and forget.
   */
  charge(request: TakeRequest, cost: number): void {
    const t = intervalMicros(request.params);
    const args = [String(cost * t), String(request.params.burst * t), String(MAX_WAIT_US), '0', this.#node];
    this.#runner.call(TAKE_SCRIPT, [this.keyOf(request.key)], args, ignore, ignore);
  }

  /** Releases the listener on the client (the client itself stays the caller's). */
  close(): void {
    this.readiness?.close();
    this.#watch?.close();
  }

  /**
   * Which master serves `key` now (its address), on a cluster whose slot map the client shares:
   * the fallback keeps one health per master, so one master's outage does not send every key to
   * the fallback, and the keys of a failed master are shared again once its slots have moved.
   */
  partitionOf(key: string): string | undefined {
    return this.#topology?.ownerOf(keySlot(this.keyOf(key)));
  }

  /**
   * The decision on `request.key` missed its deadline: on a cluster, the master of its slot may be
   * gone, so the topology is read again until the slot is served (by a promoted replica).
   */
  stalled(request: TakeRequest): void {
    this.#watch?.trouble(keySlot(this.keyOf(request.key)));
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
    const beat = this.#presence.due(request.key) ? request.key : undefined;
    const entry: Queued = { key: this.keyOf(request.key), beat, args, t, burst, done };
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
    if (!this.#cluster) this.#sendInChunks(queue, this.#send);
    else if (this.#topology !== undefined && this.#perNode) this.#sendPerNode(queue, this.#topology);
    else this.#sendPerSlot(queue);
  };

  #sendPerSlot(queue: readonly Queued[]): void {
    const bySlot = new Map<number, Queued[]>();
    for (const entry of queue) {
      const slot = keySlot(entry.key);
      const group = bySlot.get(slot);
      if (group === undefined) bySlot.set(slot, [entry]);
      else group.push(entry);
    }
    for (const group of bySlot.values()) this.#sendInChunks(group, this.#send);
  }

  #sendPerNode(queue: readonly Queued[], topology: ClusterTopology): void {
    const byNode = new Map<string, Queued[]>();
    for (const entry of queue) {
      const slot = keySlot(entry.key);
      // A slot the client cannot place yet goes on its own (the client routes it).
      const owner = topology.ownerOf(slot) ?? `slot ${slot}`;
      const group = byNode.get(owner);
      if (group === undefined) byNode.set(owner, [entry]);
      else group.push(entry);
    }
    for (const group of byNode.values()) this.#sendInChunks(group, this.#sendNode);
  }

  #sendInChunks(entries: readonly Queued[], send: (batch: readonly Queued[]) => void): void {
    const size = this.#maxBatch;
    if (entries.length <= size) send(entries);
    else for (let i = 0; i < entries.length; i += size) send(entries.slice(i, i + size));
  }

  readonly #send = (batch: readonly Queued[]): void => {
    const keys: string[] = [];
    const sets: string[] = [];
    const args: string[] = [];
    for (const entry of batch) {
      keys.push(entry.key);
      args.push(...entry.args);
      if (entry.beat === undefined) args.push('0');
      else args.push(String(sets.push(redisKey(this.#prefix, entry.beat, 'nodes'))));
    }
    args.push(this.#node);
    this.#inFlight++;
    this.#runner.call(
      TAKE_SCRIPT,
      sets.length === 0 ? keys : keys.concat(sets),
      args,
      (reply) => {
        this.#inFlight--;
        this.#answered(batch);
        this.#answer(batch, reply);
      },
      (error) => {
        this.#inFlight--;
        this.#failed(batch);
        for (const entry of batch) entry.done(error, undefined);
      },
    );
  };

  /** One call for decisions whose keys all live on one master (several slots of it). */
  readonly #sendNode = (batch: readonly Queued[]): void => {
    const first = batch[0];
    if (first === undefined) return;
    const args: string[] = [];
    for (const entry of batch) {
      args.push(
        entry.key,
        ...entry.args,
        entry.beat === undefined ? '' : redisKey(this.#prefix, entry.beat, 'nodes'),
      );
    }
    args.push(this.#node);
    this.#inFlight++;
    this.#runner.call(
      TAKE_NODE_SCRIPT,
      [first.key],
      args,
      (reply) => {
        this.#inFlight--;
        this.#answerNode(batch, reply);
      },
      (error) => {
        this.#inFlight--;
        if (scriptRefused(error)) {
          // Redis before 7 cannot run the per-master script (it did not run): per slot from now.
          this.#perNode = false;
          this.#sendPerSlot(batch);
          return;
        }
        this.#failed(batch);
        for (const entry of batch) entry.done(error, undefined);
      },
    );
  };

  /** The per-master reply: decisions whose slot the node did not serve go again, per slot. */
  #answerNode(batch: readonly Queued[], reply: unknown): void {
    const valid = Array.isArray(reply) && reply.length === batch.length * TAKE_REPLY;
    let moved = false;
    for (let at = 0; valid && at < reply.length && !moved; at += TAKE_REPLY) moved = reply[at] === -1;
    if (!moved) {
      if (valid) this.#answered(batch);
      this.#answer(batch, reply);
      return;
    }
    const list = reply as unknown[];
    const served: Queued[] = [];
    const servedReply: unknown[] = [];
    const again: Queued[] = [];
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i] as Queued;
      const at = TAKE_REPLY * i;
      if (list[at] === -1) again.push(entry);
      else {
        served.push(entry);
        for (let j = at; j < at + TAKE_REPLY; j++) servedReply.push(list[j]);
      }
    }
    this.#answered(served);
    this.#answer(served, servedReply);
    this.#sendPerSlot(again);
  }

  #answered(batch: readonly Queued[]): void {
    const watch = this.#watch;
    if (watch === undefined || watch.troubled === 0) return;
    for (const entry of batch) watch.answered(keySlot(entry.key));
  }

  #failed(batch: readonly Queued[]): void {
    const watch = this.#watch;
    if (watch === undefined) return;
    for (const entry of batch) watch.trouble(keySlot(entry.key));
  }

  #answer(batch: readonly Queued[], reply: unknown): void {
    // A reply we do not understand must never read as "allowed" (E10): it counts as a store failure.
    const ok = Array.isArray(reply) && reply.length === batch.length * TAKE_REPLY;
    for (let i = 0; i < batch.length; i++) {
      const entry = batch[i];
      if (entry === undefined) continue;
      const at = TAKE_REPLY * i;
      const allowed: unknown = ok ? reply[at] : undefined;
      const wait: unknown = ok ? reply[at + 1] : undefined;
      const debt: unknown = ok ? reply[at + 2] : undefined;
      if ((allowed === 1 || allowed === 0) && typeof wait === 'number' && typeof debt === 'number') {
        const nodes: unknown = ok ? reply[at + 3] : undefined;
        if (entry.beat !== undefined && typeof nodes === 'number') this.#presence.saw(entry.beat, nodes);
        entry.done(undefined, gcraDecision(allowed === 1, wait, debt, entry.t, entry.burst));
      } else {
        entry.done(badReply(), undefined);
      }
    }
  }
}

/**
 * A {@link RateLimitStore} on Redis: one limit for every process that uses the same Redis and
 * prefix. Each call has a deadline (`timeoutMs`); when Redis fails or is late, `onStoreError`
 * decides: `'local'` (default, an in-process limiter with the same parameters, warned once),
 * `'open'` (admit) or `'closed'` (refuse). Shared decisions resume by themselves when Redis
 * answers again (at the client's `ready`, or one trial call per `probeIntervalMs`).
 */
export function redisStore(options: RedisStoreOptions): FallbackStore {
  checkKeys('options', 'rateLimit.store', requireRecord('options', 'rateLimit.store', options), STORE_KEYS);
  const primary = new RedisRateLimitStore(options);
  return fallbackStore(primary, { ...options, name: 'redis' });
}
