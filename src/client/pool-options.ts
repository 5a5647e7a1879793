/**
 * The client's `pool` option: its type (per-origin overrides, TLS, a proxy), its key lists
 * checked against the type, and its parse into the transport's settings.
 */
import { invalidOption } from '../errors.js';
import { validateTlsOptions } from '../transport/tls-options.js';
import type { OriginPoolOptions, TlsOptions, UndiciTransportOptions } from '../transport/undici-transport.js';
import { checkBoolean, checkKeys, checkNumber, checkObject, checkString, optionKeys } from '../validate.js';

/**
 * Connection pools of the client (never shared with another client).
 * @example pool: { connections: 10, origins: { 'https://uploads.example.com': { connections: 2 } } }
 */
export interface PoolOptions extends OriginPoolOptions {
  /** Per-origin overrides, keyed by origin (`https://uploads.example.com`). @default none: every origin gets the settings above */
  origins?: Record<string, OriginPoolOptions>;
  /** TLS settings; certificate verification is on unless `tls.rejectUnauthorized` is `false`. @default Node's CA store, verification on */
  tls?: TlsOptions;
  /** An HTTP(S) proxy URL every request goes through (`http://proxy:8080`). @default none: direct connections */
  proxy?: string;
}

const ORIGIN_KEYS = optionKeys<OriginPoolOptions>()([
  'connections',
  'pipelining',
  'keepAliveTimeout',
  'allowH2',
  'connectTimeout',
]);
const POOL_KEYS = optionKeys<PoolOptions>()([...ORIGIN_KEYS, 'origins', 'tls', 'proxy']);

/** The transport's settings of `pool` (with the client's `maxResponseBytes`). */
export function parsePool(value: unknown, maxResponseBytes: number): UndiciTransportOptions {
  const pool = checkObject('options', 'pool', value) ?? {};
  checkKeys('options', 'pool', pool, POOL_KEYS);
  const out: UndiciTransportOptions = { maxResponseBytes, ...originOptions('pool', pool) };
  const origins = checkObject('options', 'pool.origins', pool.origins);
  if (origins !== undefined) out.origins = parseOrigins(origins);
  const tls = validateTlsOptions(pool.tls);
  if (tls !== undefined) out.tls = tls;
  const proxy = parseProxy(pool.proxy);
  if (proxy !== undefined) out.proxy = proxy;
  return out;
}

/** `pool.origins`, keyed by each origin normalised (`https://a.example:443` is `https://a.example`). */
function parseOrigins(origins: Record<string, unknown>): Record<string, OriginPoolOptions> {
  const out: Record<string, OriginPoolOptions> = {};
  for (const [origin, settings] of Object.entries(origins)) {
    const path = `pool.origins["${origin}"]`;
    let normalised: string;
    try {
      normalised = new URL(origin).origin;
    } catch {
      throw invalidOption(path, origin, 'an origin such as "https://uploads.example.com"');
    }
    const s = checkObject('options', path, settings) ?? {};
    checkKeys('options', path, s, ORIGIN_KEYS);
    out[normalised] = originOptions(path, s);
  }
  return out;
}

// The proxy URL may carry credentials: an error never shows it.
function parseProxy(value: unknown): string | undefined {
  const proxy = checkString('options', 'pool.proxy', value);
  if (proxy === undefined) return undefined;
  try {
    const url = new URL(proxy);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw invalidOption('pool.proxy', '[proxy URL]', 'an http(s) proxy URL such as "http://proxy:8080"');
  }
  return proxy;
}

function originOptions(path: string, o: Record<string, unknown>): OriginPoolOptions {
  const out: OriginPoolOptions = {};
  const connections = checkNumber('options', `${path}.connections`, o.connections, 1, 10_000, true);
  const pipelining = checkNumber('options', `${path}.pipelining`, o.pipelining, 0, 100, true);
  const keepAlive = checkNumber('options', `${path}.keepAliveTimeout`, o.keepAliveTimeout, 1, 600_000, true);
  const connectTimeout = checkNumber('options', `${path}.connectTimeout`, o.connectTimeout, 1, 600_000, true);
  const allowH2 = checkBoolean('options', `${path}.allowH2`, o.allowH2);
  if (connections !== undefined) out.connections = connections;
  if (pipelining !== undefined) out.pipelining = pipelining;
  if (keepAlive !== undefined) out.keepAliveTimeout = keepAlive;
  if (connectTimeout !== undefined) out.connectTimeout = connectTimeout;
  if (allowH2 !== undefined) out.allowH2 = allowH2;
  return out;
}
