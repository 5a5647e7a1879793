/**
 * The rate limit row of the stage table: the `rateLimit` option (type, keys, parse), a request's
 * override, and the rate limit stage.
 */
import { invalidRequest } from '../errors.js';
import { RATE_LIMIT_OPTION_KEYS, RateLimiter, type RateLimiterOptions } from '../policies/rate-limiter.js';
import { checkKeys, checkObject, isRecord, optionKeys } from '../validate.js';
import type { RateLimitOverride } from './call-policies.js';
import { checkPolicyKey } from './policy-key.js';
import { createRateLimitStage, type RateLimitKey } from './rate-limit-stage.js';
import { policyRow, type BuiltRow } from './stage-descriptor.js';

/** Rate limit options of a client. */
export type RateLimitClientOptions = Omit<RateLimiterOptions, 'clock' | 'onEvent'> & {
  /**
   * Bucket key: a fixed string (one bucket for the client), or a function of the request returning
   * a non-empty string. A fixed string takes precedence over the request's `key` option.
   * @default the request's `key`, else its origin (one bucket per origin)
   */
  key?: RateLimitKey;
};

/** A request's `rateLimit`. */
export interface RequestRateLimitOptions {
  /** The bucket this call takes from, a non-empty string. @default the client's `rateLimit.key`, else the request's `key` (the origin) */
  key?: string;
  /** Tokens this call takes, a positive integer (more than `burst` waits for the debt). @default 1 */
  cost?: number;
  /** Wait for a slot, or fail at once with `RATE_LIMITED`. @default the client's ('wait') */
  strategy?: 'wait' | 'error';
  /** Longest wait for a slot in ms; implies `strategy: 'wait'`. @default the client's (5_000) */
  maxWait?: number;
}

/** The limiter's own options, but `clock` and `onEvent` (the client supplies them), and `key`. */
const CLIENT_KEYS = optionKeys<RateLimitClientOptions>()([
  ...RATE_LIMIT_OPTION_KEYS.filter(
    (k): k is Exclude<typeof k, 'clock' | 'onEvent'> => k !== 'clock' && k !== 'onEvent',
  ),
  'key',
]);
const REQUEST_KEYS = optionKeys<RequestRateLimitOptions>()(['key', 'cost', 'strategy', 'maxWait']);

interface RateLimitSettings {
  /** The limiter's own options (what `RateLimiter` validates). */
  readonly limiter: RateLimiterOptions;
  readonly key: RateLimitKey | undefined;
}

/** The rate limit: off unless configured; one token per attempt, inside the breaker. */
export const rateLimitRow = policyRow<'rateLimit', RateLimitSettings, BuiltRow>({
  name: 'rateLimit',
  parse: (options) => {
    const value = options.rateLimit;
    if (value === undefined || value === false) return undefined;
    const section = checkObject('options', 'rateLimit', value) ?? {};
    checkKeys('options', 'rateLimit', section, CLIENT_KEYS);
    const { key, ...limiter } = section;
    // Each value is checked by the limiter itself, naming `rateLimit.<option>`.
    return { limiter: limiter as unknown as RateLimiterOptions, key: checkPolicyKey('rateLimit.key', key) };
  },
  build: (settings, env) => {
    const limiter = new RateLimiter({
      ...settings.limiter,
      clock: env.clock,
      onEvent: (event) => {
        if (event.type === 'store-error' && event.fallback !== undefined) {
          env.events.rateLimitStoreError(event.key, event.fallback, event.error);
        }
      },
    });
    const stage = {
      name: 'rateLimit',
      middleware: createRateLimitStage(limiter, settings.key),
      inspect: () => limiter.snapshot(),
      close: () => {
        limiter.close();
      },
    };
    return { stages: [stage] };
  },
  request: (value): RateLimitOverride | false | undefined => {
    if (value === undefined || value === false) return value;
    if (!isRecord(value)) throw invalidRequest('rateLimit', value, 'an object or false');
    checkKeys('request', 'rateLimit', value, REQUEST_KEYS);
    if (value.key !== undefined && (typeof value.key !== 'string' || value.key === '')) {
      throw invalidRequest('rateLimit.key', value.key, 'a non-empty string');
    }
    // `cost`, `strategy` and `maxWait` are checked by the limiter when the call takes its token.
    return value;
  },
});
