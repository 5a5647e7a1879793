// createClient's options validated once, into the shape the hot path reads.
import { systemClock, systemRandom, type Clock, type RandomSource } from '../clock.js';
import { invalidOption } from '../errors.js';
import type { Middleware } from '../pipeline/types.js';
import type { Transport } from '../transport/attempt.js';
import type { UndiciTransportOptions } from '../transport/undici-transport.js';
import { defaultHeaders, mergeHeaders } from './headers.js';
import type { ClientOptions } from './options.js';
import { testModeFromEnv } from '../transport/test-mode.js';
import { parsePool } from './pool-options.js';
import { DEFAULT_TIMEOUTS, headerName, parseDeadline, resolveTimeouts } from './timeouts.js';
import { parseBaseUrl, type BaseUrl } from './url.js';
import { checkBoolean, checkKeys, checkNumber, checkString, isRecord, optionKeys } from '../validate.js';

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

/** Top-level option names, checked against {@link ClientOptions} (each section is validated by its own module). */
export const CLIENT_KEYS = optionKeys<ClientOptions>()([
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
]);

/** Validates the core options; every error names the option path, the value and what is allowed. */
export function resolveClientOptions(options: ClientOptions): ResolvedClient {
  const raw: unknown = options;
  if (!isRecord(raw)) throw invalidOption('options', raw, 'an object of client options');
  checkKeys('options', '', raw, CLIENT_KEYS);
  const decompress = checkBoolean('options', 'decompress', options.decompress) ?? true;
  const timeouts = resolveTimeouts('options', options.timeout, DEFAULT_TIMEOUTS, 'the default');
  const maxResponseBytes =
    checkNumber('options', 'maxResponseBytes', options.maxResponseBytes, 1, Number.MAX_SAFE_INTEGER, true) ??
    52_428_800;
  return {
    name: checkString('options', 'name', options.name) ?? 'default',
    base: options.baseUrl === undefined ? undefined : parseBaseUrl(options.baseUrl),
    headers: mergeHeaders('options', 'headers', defaultHeaders(decompress), options.headers),
    attemptTimeoutMs: timeouts.attemptMs,
    totalTimeoutMs: timeouts.totalMs,
    deadlineHeader: parseDeadline(options.deadline),
    requestIdHeader:
      options.requestIdHeader === false
        ? false
        : (headerName('requestIdHeader', options.requestIdHeader) ?? 'x-request-id'),
    throwHttpErrors: checkBoolean('options', 'throwHttpErrors', options.throwHttpErrors) ?? false,
    maxResponseBytes,
    use: parseUse(options.use),
    transport: parseTransport(options.transport),
    transportOptions: parsePool(options.pool, maxResponseBytes),
    clock: parseClock(options.clock),
    random: parseRandom(options.random),
    testMode: (checkBoolean('options', 'testMode', options.testMode) ?? false) || testModeFromEnv(),
  };
}

function parseUse(value: unknown): readonly Middleware[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((m) => typeof m !== 'function')) {
    throw invalidOption(
      'use',
      value,
      'an array of middleware functions (ctx, next) => Promise<BulwarkResponse>',
    );
  }
  return value as Middleware[];
}

function parseTransport(value: Transport | undefined): Transport | undefined {
  if (value !== undefined && typeof (value as unknown as Record<string, unknown>).send !== 'function') {
    throw invalidOption(
      'transport',
      value,
      'a Transport ({ send, stats, close, destroy }), e.g. mockTransport()',
    );
  }
  return value;
}

function parseClock(value: Clock | undefined): Clock {
  if (value === undefined) return systemClock;
  const clock = value as Partial<Clock>;
  if (
    typeof clock.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.sleep !== 'function'
  ) {
    throw invalidOption('clock', value, 'a Clock { now, setTimeout, sleep }');
  }
  return value;
}

function parseRandom(value: unknown): RandomSource {
  if (value === undefined) return systemRandom;
  if (typeof value !== 'function')
    throw invalidOption('random', value, 'a function returning a number in [0, 1)');
  return value as RandomSource;
}
