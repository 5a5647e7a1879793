/**
 * Configuration from environment variables. Parse the strings, pass the numbers on, and let
 * bulwark validate them: a bad value fails at `createClient` with `INVALID_OPTIONS`, naming
 * the option, the value and what is allowed, instead of misbehaving at the first request.
 *
 * Run: npx tsx examples/config-from-env.ts
 * In your project, import from 'bulwark' instead of '../src/index.js'.
 */
import { createClient, isBulwarkError, type Client } from '../src/index.js';

type Env = Record<string, string | undefined>;

/** Reads a number if set; the library checks its range, so this only converts. */
function numberFrom(env: Env, name: string): number | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : Number(raw);
}

function clientFromEnv(env: Env): Client {
  const apiKey = env.API_KEY;
  if (apiKey === undefined) throw new Error('API_KEY is required');
  const attempt = numberFrom(env, 'API_TIMEOUT_MS');
  const maxRetries = numberFrom(env, 'API_MAX_RETRIES');
  const rate = numberFrom(env, 'API_RATE_PER_SECOND');
  return createClient({
    name: env.API_NAME ?? 'api',
    baseUrl: env.API_BASE_URL ?? 'https://api.example.com',
    headers: { 'x-api-key': apiKey },
    timeout: { ...(attempt === undefined ? {} : { attempt }), total: 30_000 },
    retry: maxRetries === undefined ? {} : { maxRetries },
    ...(rate === undefined ? {} : { rateLimit: { requests: rate, per: 'second' as const } }),
    testMode: env.BULWARK_TEST_MODE === '1',
  });
}

const good = clientFromEnv({
  API_KEY: 'k_live_123',
  API_BASE_URL: 'https://billing.internal',
  API_TIMEOUT_MS: '5000',
  API_MAX_RETRIES: '2',
  API_RATE_PER_SECOND: '50',
});
console.log(`configured client "${good.name}"`);
await good.close();

for (const broken of [
  { API_KEY: 'k', API_MAX_RETRIES: 'lots' },
  { API_KEY: 'k', API_TIMEOUT_MS: '60000' },
  { API_KEY: 'k', API_BASE_URL: 'ftp://files.example.com' },
  { API_KEY: 'k', API_RATE_PER_SECOND: '0.5' },
]) {
  try {
    clientFromEnv(broken);
  } catch (error) {
    if (!isBulwarkError(error, 'INVALID_OPTIONS')) throw error;
    // `path` names the option; the message says what was wrong and what is allowed.
    console.log(`INVALID_OPTIONS at ${error.path}: ${error.message}`);
  }
}
