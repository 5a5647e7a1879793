/**
 * The few Redis calls bulwark makes, over either client the caller already has: ioredis
 * (`evalsha(sha, numKeys, ...keysAndArgs)`) or node-redis v4+ (`evalSha(sha, { keys, arguments })`).
 * The shapes are structural so neither package is a hard dependency. bulwark never connects,
 * reconnects or closes the client: that stays the caller's.
 */
import { createHash } from 'node:crypto';
import { asError, invalidOption, promiseOf } from '../errors.js';

/** The part of an ioredis `Redis` or `Cluster` bulwark uses. */
export interface IoredisLikeClient {
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  script(subcommand: 'LOAD', script: string): Promise<unknown>;
}

/** The part of a node-redis (v4, v5, v6) client or cluster bulwark uses. */
export interface NodeRedisLikeClient {
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  scriptLoad(script: string): Promise<unknown>;
}

/** Any client `redisStore` and `redisCircuitStore` accept. */
export type RedisClientLike = IoredisLikeClient | NodeRedisLikeClient;

/** A Lua script with its SHA-1, computed once so the first call can already use EVALSHA. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** Wraps Lua source as a {@link LuaScript}. */
export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs scripts on a caller's client, whichever library it comes from. */
export interface ScriptRunner {
  /**
   * EVALSHA; after `NOSCRIPT` (Redis restarted, failed over, `SCRIPT FLUSH`) runs the source once
   * with EVAL, which also puts it back in the script cache. Any other error is not replayed: the
   * script may have run, and running it twice would take two slots.
   */
  run(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /**
   * {@link run} through callbacks, one of which is called once (never synchronously, never both):
   * the hot path of the rate-limit store, one promise per call instead of two.
   */
  call(
    script: LuaScript,
    keys: string[],
    args: string[],
    onReply: (reply: unknown) => void,
    onError: (error: Error) => void,
  ): void;
  /** SCRIPT LOAD: warms the cache and doubles as a cheap "is Redis back?" probe. */
  load(script: LuaScript): Promise<void>;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function isFunction(value: unknown): boolean {
  return typeof value === 'function';
}

/** Detects the client's library by shape and returns a {@link ScriptRunner} over it. */
export function scriptRunner(client: RedisClientLike, optionPath = 'redis.client'): ScriptRunner {
  const c = client as unknown as Record<string, unknown> | null;
  if (typeof c === 'object' && c !== null && isFunction(c['evalSha']) && isFunction(c['scriptLoad'])) {
    return nodeRedisRunner(client as NodeRedisLikeClient);
  }
  if (typeof c === 'object' && c !== null && isFunction(c['evalsha']) && isFunction(c['script'])) {
    return ioredisRunner(client as IoredisLikeClient);
  }
  throw invalidOption(optionPath, client, 'an ioredis client (Redis or Cluster) or a node-redis v4+ client');
}

/** The three script calls of one client library, in bulwark's argument shape. */
interface ScriptCalls {
  evalsha(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  evalSource(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  load(script: LuaScript): Promise<unknown>;
}

/** EVALSHA, then EVAL once after NOSCRIPT, over either library's calls. */
function runnerOver(calls: ScriptCalls): ScriptRunner {
  const call: ScriptRunner['call'] = (script, keys, args, onReply, onError) => {
    // A client that throws instead of rejecting is still answered asynchronously, through onError.
    promiseOf(() => calls.evalsha(script, keys, args)).then(onReply, (error: unknown) => {
      if (!isNoScript(error)) {
        onError(asError(error));
        return;
      }
      promiseOf(() => calls.evalSource(script, keys, args)).then(onReply, (thrown: unknown) => {
        onError(asError(thrown));
      });
    });
  };
  return {
    call,
    run: (script, keys, args) =>
      new Promise((resolve, reject) => {
        call(script, keys, args, resolve, reject);
      }),
    async load(script) {
      await calls.load(script);
    },
  };
}

function ioredisRunner(client: IoredisLikeClient): ScriptRunner {
  return runnerOver({
    evalsha: (script, keys, args) => client.evalsha(script.sha, keys.length, ...keys, ...args),
    evalSource: (script, keys, args) => client.eval(script.source, keys.length, ...keys, ...args),
    load: (script) => client.script('LOAD', script.source),
  });
}

function nodeRedisRunner(client: NodeRedisLikeClient): ScriptRunner {
  return runnerOver({
    evalsha: (script, keys, args) => client.evalSha(script.sha, { keys, arguments: args }),
    evalSource: (script, keys, args) => client.eval(script.source, { keys, arguments: args }),
    load: (script) => client.scriptLoad(script.source),
  });
}

/**
 * Whether `client` talks to a Redis Cluster: an ioredis `Cluster` (`isCluster`) or a node-redis
 * cluster (`masters` and `slots`). Commands with several keys must then keep to one hash slot.
 */
export function isClusterClient(client: RedisClientLike): boolean {
  const c = client as unknown as Record<string, unknown>;
  return c['isCluster'] === true || ('masters' in c && 'slots' in c);
}

/** The Redis key of one rate-limit bucket: the hash tag keeps every key of `key` in one Cluster slot. */
export function redisKey(prefix: string, key: string, suffix: string): string {
  return `${prefix}:{${key}}:${suffix}`;
}
