// The export list of each entry point, pinned: a name added to or dropped from the public surface fails here until this list says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
const ENTRIES = {
  bulwark: 'src/index.ts',
  'bulwark/testing': 'src/testing/index.ts',
  'bulwark/redis': 'src/stores/redis.ts',
  'bulwark/policies': 'src/policies/index.ts',
  'bulwark/observability': 'src/observability/index.ts',
} as const;

/** Every name each entry exports, types and values, as the compiler sees them. */
function exportsOf(): Record<keyof typeof ENTRIES, string[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  const files = Object.values(ENTRIES).map((f) => join(root, f));
  const program = ts.createProgram(files, config!.options);
  const checker = program.getTypeChecker();
  const out = {} as Record<keyof typeof ENTRIES, string[]>;
  for (const [entry, file] of Object.entries(ENTRIES) as [keyof typeof ENTRIES, string][]) {
    const source = program.getSourceFile(join(root, file))!;
    const symbol = checker.getSymbolAtLocation(source)!;
    out[entry] = checker
      .getExportsOfModule(symbol)
      .map((s) => s.name)
      .sort();
  }
  return out;
}

const surface = exportsOf();

test('bulwark/policies exports the standalone policies, their one contract and wrap, and the store contracts', () => {
  assert.deepEqual(surface['bulwark/policies'], [
    'BackoffOptions',
    'CacheEntry',
    'CacheStore',
    'CircuitBreaker',
    'CircuitBreakerOptions',
    'CircuitBreakers',
    'CircuitBreakersOptions',
    'CircuitExecuteOptions',
    'CircuitSnapshot',
    'CircuitState',
    'CircuitStateChange',
    'CircuitStore',
    'ConcurrencyLimiter',
    'ConcurrencyLimiterOptions',
    'ConcurrencySnapshot',
    'ExecuteOptions',
    'GcraParams',
    'HedgeAttemptContext',
    'HedgeOptions',
    'HedgePolicy',
    'HedgePolicyOptions',
    'LimitAlgorithm',
    'MemoryStore',
    'Policy',
    'PolicyContext',
    'PolicyWrap',
    'RateLimitDecision',
    'RateLimitExecuteOptions',
    'RateLimitKeySnapshot',
    'RateLimitStore',
    'RateLimiter',
    'RateLimiterOptions',
    'RateLimiterSnapshot',
    'RetryAttemptContext',
    'RetryBudget',
    'RetryBudgetOptions',
    'RetryBudgets',
    'RetryOptions',
    'RetryPolicy',
    'SharedCircuitState',
    'TakeRequest',
    'TimeoutPolicy',
    'TimeoutPolicyOptions',
    'WithDeadlineOptions',
    'backoffDelay',
    'circuitOpenError',
    'currentDeadline',
    'deadlineFromRequest',
    'hedge',
    'hedgePolicy',
    'parseRetryAfter',
    'rateLimitStateFromHeaders',
    'remainingTime',
    'retryHintFromHeaders',
    'retryPolicy',
    'timeoutPolicy',
    'withDeadline',
    'wrap',
  ]);
});

test('the root exports what a caller of createClient needs: 40 names', () => {
  assert.deepEqual(surface['bulwark'], [
    'BulwarkError',
    'BulwarkErrorCode',
    'BulwarkErrorOf',
    'BulwarkResponse',
    'CacheOptions',
    'CircuitBreakerClientOptions',
    'CircuitHandle',
    'Client',
    'ClientInspection',
    'ClientOptions',
    'ConcurrencyClientOptions',
    'DeadlineOptions',
    'HeadersInit',
    'HedgingOptions',
    'LoggingOptions',
    'MemoryCacheStore',
    'MemoryCacheStoreOptions',
    'Middleware',
    'Next',
    'PoolOptions',
    'Preset',
    'RateLimitClientOptions',
    'RequestCacheMode',
    'RequestContext',
    'RequestOptions',
    'ResponseHeaders',
    'RetryClientOptions',
    'SafeResult',
    'TelemetryClientOptions',
    'TimeoutOptions',
    'UrlVerbOptions',
    'VerbOptions',
    'checkConnectedSocket',
    'createClient',
    'deadlineFromRequest',
    'guardedLookup',
    'isBulwarkError',
    'isPrivateAddress',
    'presets',
    'withDeadline',
  ]);
});

test('bulwark/observability exports the channel names and messages, the redactor and the logger contract', () => {
  assert.deepEqual(surface['bulwark/observability'], [
    'AttemptMessage',
    'BudgetMessage',
    'CHANNEL_NAMES',
    'CircuitMessage',
    'ConcurrencyMessage',
    'DeadlineMessage',
    'HedgeMessage',
    'LogLevelSetting',
    'Logger',
    'RateLimitMessage',
    'Redactor',
    'RedactorOptions',
    'RedirectMessage',
    'RequestChannelContext',
    'RetryMessage',
    'SpanNameRequest',
    'defaultRedactor',
  ]);
});

test('Client and BulwarkResponse are types at the root, not values to construct', async () => {
  const root: Record<string, unknown> = await import('../../src/index.js');
  assert.equal('Client' in root, false);
  assert.equal('BulwarkResponse' in root, false);
  assert.equal(typeof root.createClient, 'function');
});

test('bulwark/testing exports the mock transport, cassettes, test mode and the virtual clock', () => {
  assert.deepEqual(surface['bulwark/testing'], [
    'Cassette',
    'CassetteFile',
    'CassetteMode',
    'CassetteOptions',
    'MockCall',
    'MockReply',
    'MockRoute',
    'MockStep',
    'MockTransport',
    'RecordedInteraction',
    'RecordedRequest',
    'RecordedResponse',
    'VirtualClock',
    'VirtualClockOptions',
    'cassette',
    'createVirtualClock',
    'mockTransport',
    'saveCassette',
    'testModeTransport',
  ]);
});

test('bulwark/redis exports the Redis stores, their options and the contracts they implement', () => {
  assert.deepEqual(surface['bulwark/redis'], [
    'CacheEntry',
    'CacheStore',
    'CircuitStore',
    'FallbackStore',
    'IoredisLikeClient',
    'NodeRedisLikeClient',
    'RedisCacheStore',
    'RedisCacheStoreOptions',
    'RedisCircuitStore',
    'RedisCircuitStoreOptions',
    'RedisClientLike',
    'RedisRateLimitStore',
    'RedisRateLimitStoreOptions',
    'RedisStoreOptions',
    'SharedCircuitState',
    'StoreErrorMode',
    'StoreEvent',
    'StoreLogger',
    'redisCacheStore',
    'redisCircuitStore',
    'redisStore',
  ]);
});

test('the names DESIGN.md §1 makes public are exported at the root', () => {
  for (const name of [
    'createClient',
    'withDeadline',
    'deadlineFromRequest',
    'isBulwarkError',
    'BulwarkError',
  ]) {
    assert.ok(surface.bulwark.includes(name), name);
  }
  for (const name of ['Client', 'BulwarkResponse', 'ClientOptions', 'RequestOptions', 'presets']) {
    assert.ok(surface.bulwark.includes(name), name);
  }
});
