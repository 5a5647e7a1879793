/**
 * The HTTP cache's store over Redis (`bulwark/redis`): a fleet shares its cached answers, so a
 * node that just started, or whose upstream is down, can serve what another node fetched. One
 * GET or SET per lookup, each with a deadline of its own: a slow or absent Redis is a miss, never
 * a slow or failed call. Nothing secret reaches Redis in the clear: keys are digests of the URL,
 * request header values kept for `Vary` are digests, `set-cookie` is never stored, and the URL
 * (which may carry a token in its query) is not kept.
 */
import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../clock.js';
import type { CacheEntry, CacheStore } from '../policies/cache-store.js';
import { checkKeys, checkNumber, checkString, isRecord, requireRecord } from '../validate.js';
import { luaScript, scriptRunner, type RedisClientLike, type ScriptRunner } from './redis-client.js';

/** Options of {@link redisCacheStore}. */
export interface RedisCacheStoreOptions {
  /** An ioredis or node-redis (v4+) client or cluster, connected by the caller (bulwark never closes it). */
  client: RedisClientLike;
  /** Prefix of every key. @default 'bulwark:cache' */
  prefix?: string;
  /** Longest wait for Redis per lookup or write, ms; past it the lookup is a miss. @default 50 */
  timeout?: number;
  /** Largest entry written, bytes (body and headers); a larger answer is served but not shared. @default 1 MiB */
  maxEntryBytes?: number;
  /** @internal Time source for the deadline (tests). */
  clock?: Clock;
}

const KEYS = ['client', 'prefix', 'timeout', 'maxEntryBytes', 'clock'];
const GET = luaScript('cache-get', "return redis.call('GET', KEYS[1])");
const SET = luaScript('cache-set', "return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])");
const DEL = luaScript('cache-del', "return redis.call('DEL', KEYS[1])");

interface Wire {
  readonly v: 1;
  readonly e: readonly {
    readonly p: CacheEntry['policy'];
    readonly s: string;
    readonly b: string;
    readonly o?: string;
  }[];
}

/** A {@link CacheStore} over Redis, shared by every process that uses the same `prefix`. */
export class RedisCacheStore implements CacheStore {
  readonly #runner: ScriptRunner;
  readonly #prefix: string;
  readonly #timeout: number;
  readonly #maxEntryBytes: number;
  readonly #clock: Clock;

  constructor(options: RedisCacheStoreOptions) {
    checkKeys('options', 'cache.store', requireRecord('options', 'cache.store', options), KEYS);
    this.#runner = scriptRunner(options.client, 'cache.store.client');
    this.#prefix = checkString('options', 'cache.store.prefix', options.prefix) ?? 'bulwark:cache';
    this.#timeout = checkNumber('options', 'cache.store.timeout', options.timeout, 1, 60_000) ?? 50;
    this.#maxEntryBytes =
      checkNumber(
        'options',
        'cache.store.maxEntryBytes',
        options.maxEntryBytes,
        1,
        512 * 1024 * 1024,
        true,
      ) ?? 1024 * 1024;
    this.#clock = options.clock ?? systemClock;
  }

  async get(key: string): Promise<readonly CacheEntry[] | undefined> {
    const reply = await this.#bounded(this.#runner.run(GET, [this.#key(key)], []));
    if (typeof reply !== 'string' && !Buffer.isBuffer(reply)) return undefined;
    return decode(String(reply));
  }

  async set(key: string, entries: readonly CacheEntry[], ttlMs: number): Promise<void> {
    const value = encode(entries);
    if (value.length > this.#maxEntryBytes) return;
    await this.#bounded(
      this.#runner.run(SET, [this.#key(key)], [value, String(Math.max(1, Math.ceil(ttlMs)))]),
    );
  }

  async delete(key: string): Promise<void> {
    await this.#bounded(this.#runner.run(DEL, [this.#key(key)], []));
  }

  #key(key: string): string {
    return `${this.#prefix}:${createHash('sha256').update(key).digest('base64url')}`;
  }

  #bounded<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        reject(new Error(`cache store call took longer than ${this.#timeout} ms`));
      }, this.#timeout);
      call.then(
        (value) => {
          timer.clear();
          resolve(value);
        },
        (error: unknown) => {
          timer.clear();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

/** A cache store shared through Redis; pass it as `cache: { store }`. */
export function redisCacheStore(options: RedisCacheStoreOptions): RedisCacheStore {
  return new RedisCacheStore(options);
}

function encode(entries: readonly CacheEntry[]): string {
  const wire: Wire = {
    v: 1,
    e: entries.map((e) => ({
      p: e.policy,
      s: e.statusText,
      b: e.body.toString('base64'),
      ...(e.owner === undefined ? {} : { o: e.owner }),
    })),
  };
  return JSON.stringify(wire);
}

function decode(text: string): readonly CacheEntry[] | undefined {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(wire) || wire.v !== 1 || !Array.isArray(wire.e)) return undefined;
  const entries: CacheEntry[] = [];
  for (const e of wire.e as unknown[]) {
    // Anything another version (or something else) wrote under the prefix is skipped.
    if (!isRecord(e) || !isRecord(e.p) || typeof e.s !== 'string' || typeof e.b !== 'string') continue;
    entries.push({
      policy: e.p as unknown as CacheEntry['policy'],
      statusText: e.s,
      // The URL is not shared (its query may hold a secret): the stage answers with the request's.
      url: '',
      body: Buffer.from(e.b, 'base64'),
      ...(typeof e.o === 'string' ? { owner: e.o } : {}),
    });
  }
  return entries;
}
