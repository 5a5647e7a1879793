import { systemClock, systemRandom, type Clock, type RandomSource } from '../clock.js';
import { invalidOption } from '../errors.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { UndiciTransportOptions } from '../transport/undici-transport.js';
import { validateTlsOptions } from '../transport/tls-options.js';
import { defaultHeaders, mergeHeaders } from './headers.js';
import type { ClientOptions } from './options.js';
import { testModeFromEnv } from '../transport/test-mode.js';
import { DEFAULT_TIMEOUTS, resolveTimeouts } from './timeouts.js';
import { parseBaseUrl, type BaseUrl } from './url.js';
import { checkBoolean, checkKeys, checkNumber, checkObject, checkString, isRecord } from '../validate.js';

/** The client's options after validation, in the shape the hot path reads. */
export interface ResolvedClient {
  readonly name: string;
  readonly base: BaseUrl | undefined;
  readonly headers: Readonly<Record<string, string>>;
  readonly attemptTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly deadlineHeader: string | false;
  readonly requestIdHeader: string | false;
  readonly throwHttpErrors: boolean;
  readonly maxResponseBytes: number;
  readonly use: readonly Middleware[];
  readonly transport: Transport | undefined;
  readonly transportOptions: UndiciTransportOptions;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly testMode: boolean;
}

/** Top-level option names (policy sections are validated by their own modules). */
export const CLIENT_KEYS = [
  'name',
  'baseUrl',
  'headers',
  'timeout',
  'deadline',
  'pool',
  'throwHttpErrors',
  'maxResponseBytes',
  'requestIdHeader',
  'use',
  'transport',
  'clock',
  'random',
  'testMode',
  'retry',
  'circuitBreaker',
  'concurrency',
  'rateLimit',
  'hedging',
  'dedupe',
  'cache',
  'telemetry',
  'logging',
  'maxRedirects',
  'allowDowngrade',
  'allowedHosts',
  'blockPrivateIps',
  'decompress',
] as const;

const POOL_KEYS = [
  'connections',
  'pipelining',
  'keepAliveTimeout',
  'allowH2',
  'connectTimeout',
  'origins',
  'tls',
  'proxy',
];
const ORIGIN_KEYS = ['connections', 'pipelining', 'keepAliveTimeout', 'allowH2', 'connectTimeout'];

/** Validates the core options; every error names the option path, the value and what is allowed. */
export function resolveClientOptions(options: ClientOptions): ResolvedClient {
  const raw: unknown = options;
  if (!isRecord(raw)) throw invalidOption('options', raw, 'an object of client options');
  checkKeys('options', '', raw, CLIENT_KEYS);
  const name = checkString('options', 'name', options.name) ?? 'default';
  const base = options.baseUrl === undefined ? undefined : parseBaseUrl(options.baseUrl);
  const decompress = checkBoolean('options', 'decompress', options.decompress) ?? true;
  const headers = mergeHeaders('options', 'headers', defaultHeaders(decompress), options.headers);

  const timeouts = resolveTimeouts('options', options.timeout, DEFAULT_TIMEOUTS, 'the default');

  let deadlineHeader: string | false = 'deadline';
  if (options.deadline === false) deadlineHeader = false;
  else {
    const deadline = checkObject('options', 'deadline', options.deadline);
    if (deadline !== undefined) {
      checkKeys('options', 'deadline', deadline, ['header']);
      deadlineHeader = headerName('deadline.header', deadline.header) ?? 'deadline';
    }
  }
  const requestIdHeader =
    options.requestIdHeader === false
      ? false
      : (headerName('requestIdHeader', options.requestIdHeader) ?? 'x-request-id');

  const maxResponseBytes =
    checkNumber('options', 'maxResponseBytes', options.maxResponseBytes, 1, Number.MAX_SAFE_INTEGER, true) ??
    52_428_800;

  const use = options.use ?? [];
  if (!Array.isArray(use) || use.some((m) => typeof m !== 'function')) {
    throw invalidOption(
      'use',
      use,
      'an array of middleware functions (ctx, next) => Promise<BulwarkResponse>',
    );
  }
  const transport = options.transport;
  if (
    transport !== undefined &&
    typeof (transport as unknown as Record<string, unknown>).send !== 'function'
  ) {
    throw invalidOption(
      'transport',
      transport,
      'a Transport ({ send, stats, close, destroy }), e.g. mockTransport()',
    );
  }
  const clock = options.clock ?? systemClock;
  if (
    typeof (clock as Partial<Clock>).now !== 'function' ||
    typeof (clock as Partial<Clock>).setTimeout !== 'function' ||
    typeof (clock as Partial<Clock>).sleep !== 'function'
  ) {
    throw invalidOption('clock', clock, 'a Clock { now, setTimeout, sleep }');
  }
  const random = options.random ?? systemRandom;
  if (typeof (random as unknown) !== 'function')
    throw invalidOption('random', random, 'a function returning a number in [0, 1)');

  const testMode = (checkBoolean('options', 'testMode', options.testMode) ?? false) || testModeFromEnv();

  return {
    name,
    base,
    headers,
    attemptTimeoutMs: timeouts.attemptMs,
    totalTimeoutMs: timeouts.totalMs,
    deadlineHeader,
    requestIdHeader,
    throwHttpErrors: checkBoolean('options', 'throwHttpErrors', options.throwHttpErrors) ?? false,
    maxResponseBytes,
    use,
    transport,
    transportOptions: resolvePool(options.pool, maxResponseBytes),
    clock,
    random,
    testMode,
  };
}

function headerName(path: string, value: unknown): string | undefined {
  const name = checkString('options', path, value);
  if (name === undefined) return undefined;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) throw invalidOption(path, name, 'a valid header name');
  return name.toLowerCase();
}

function resolvePool(value: unknown, maxResponseBytes: number): UndiciTransportOptions {
  const pool = checkObject('options', 'pool', value) ?? {};
  checkKeys('options', 'pool', pool, POOL_KEYS);
  const out: UndiciTransportOptions = { maxResponseBytes, ...originOptions('pool', pool) };
  const origins = checkObject('options', 'pool.origins', pool.origins);
  if (origins !== undefined) {
    out.origins = {};
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
      out.origins[normalised] = originOptions(path, s);
    }
  }
  const tls = validateTlsOptions(pool.tls);
  if (tls !== undefined) out.tls = tls;
  const proxy = checkString('options', 'pool.proxy', pool.proxy);
  if (proxy !== undefined) {
    try {
      const url = new URL(proxy);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    } catch {
      throw invalidOption('pool.proxy', '[proxy URL]', 'an http(s) proxy URL such as "http://proxy:8080"');
    }
    out.proxy = proxy;
  }
  return out;
}

function originOptions(path: string, o: Record<string, unknown>): UndiciTransportOptions['origins'] & object {
  const out: Record<string, number | boolean> = {};
  const connections = checkNumber('options', `${path}.connections`, o.connections, 1, 10_000, true);
  const pipelining = checkNumber('options', `${path}.pipelining`, o.pipelining, 0, 100, true);
  const keepAliveTimeout = checkNumber(
    'options',
    `${path}.keepAliveTimeout`,
    o.keepAliveTimeout,
    1,
    600_000,
    true,
  );
  const connectTimeout = checkNumber('options', `${path}.connectTimeout`, o.connectTimeout, 1, 600_000, true);
  const allowH2 = checkBoolean('options', `${path}.allowH2`, o.allowH2);
  if (connections !== undefined) out.connections = connections;
  if (pipelining !== undefined) out.pipelining = pipelining;
  if (keepAliveTimeout !== undefined) out.keepAliveTimeout = keepAliveTimeout;
  if (connectTimeout !== undefined) out.connectTimeout = connectTimeout;
  if (allowH2 !== undefined) out.allowH2 = allowH2;
  return out;
}
