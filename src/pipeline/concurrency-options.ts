/**
 * The concurrency row of the stage table: the `concurrency` option (type, keys, parse) and the
 * concurrency limiter stage, innermost of the policies.
 */
import { invalidOption } from '../errors.js';
import { AimdLimit, type AimdOptions } from '../policies/concurrency/aimd.js';
import { ConcurrencyLimiter, type ConcurrencyLimiterOptions } from '../policies/concurrency/index.js';
import { TUNABLE_LIMITER_KEYS } from '../policies/concurrency/options.js';
import { checkFunction, checkKeys, checkObject, optionKeys } from '../validate.js';
import type { AttemptOutcome } from './call-policies.js';
import { createConcurrencyStage } from './concurrency-stage.js';
import { stageRow, type BuiltRow } from './stage-descriptor.js';

/** Concurrency options of a client. */
export type ConcurrencyClientOptions = Omit<
  ConcurrencyLimiterOptions,
  'clock' | 'random' | 'onLimitChange'
> & {
  /**
   * With `algorithm: 'aimd'` only: the limit is multiplied by this on a drop, in [0.5, 1)
   * (Hardhat's Regulator `backoff_ratio`; 0.5 halves it).
   * @default 0.9
   */
  backoffRatio?: number;
  /**
   * Judges an attempt for the limiter (Hardhat's `should_regulate`): true makes it a drop, which
   * lowers the limit; false a normal latency sample (for an error: no sample). The caller's abort
   * and bulwark's own refusals are never samples, and a timeout while reading the body is always
   * a drop.
   * @default timeouts, network errors, 429 and 503 are drops
   * @example isDropped: (o) => o.error !== undefined || o.response.status === 429
   */
  isDropped?: (outcome: AttemptOutcome) => boolean;
};

/** The limiter's tunable options, and the client's own. */
const CLIENT_KEYS = optionKeys<ConcurrencyClientOptions>()([
  ...TUNABLE_LIMITER_KEYS,
  'backoffRatio',
  'isDropped',
]);

interface ConcurrencySettings {
  /** The limiter's own options (what `ConcurrencyLimiter` validates). */
  readonly limiter: ConcurrencyLimiterOptions;
  readonly isDropped: ((outcome: AttemptOutcome) => boolean) | undefined;
}

/** The concurrency limit: off unless configured. */
export const concurrencyRow = stageRow<ConcurrencySettings, BuiltRow>({
  name: 'concurrency',
  parse: (options) => {
    const value = options.concurrency;
    if (value === undefined || value === false) return undefined;
    const section = checkObject('options', 'concurrency', value) ?? {};
    checkKeys('options', 'concurrency', section, CLIENT_KEYS);
    const { isDropped, backoffRatio, ...limiter } = section;
    const judge = checkFunction('options', 'concurrency.isDropped', isDropped) as
      ((o: AttemptOutcome) => boolean) | undefined;
    return { limiter: withBackoffRatio(limiter, backoffRatio), isDropped: judge };
  },
  build: ({ limiter: options, isDropped }, env) => {
    const limiter = new ConcurrencyLimiter({ ...options, clock: env.clock, random: env.random });
    limiter.onLimitChange((change) => {
      env.events.concurrencyLimit(env.name, change.from, change.to, limiter.inflight);
    });
    env.events.observeConcurrency(env.name, limiter);
    // Checked when the retry is decided: a limiter full now is most likely full a backoff later,
    // and a retry would take the slot of a fresh call.
    env.gates.push((_ctx, _delayMs, responded) => !limiter.wouldRefuse(responded ? 1 : 0));
    const stage = {
      name: 'concurrency',
      middleware: createConcurrencyStage(limiter, isDropped),
      inspect: () => limiter.snapshot(),
    };
    return { stages: [stage] };
  },
});

/** `backoffRatio` makes the AIMD algorithm an instance with the bounds given beside it. */
function withBackoffRatio(
  limiter: Record<string, unknown>,
  backoffRatio: unknown,
): ConcurrencyLimiterOptions {
  // Each value is checked by the limiter and its algorithm, naming `concurrency.<option>`.
  if (backoffRatio === undefined) return limiter;
  if (limiter.algorithm !== 'aimd') {
    throw invalidOption(
      'concurrency.backoffRatio',
      backoffRatio,
      "no value unless `concurrency.algorithm` is 'aimd' (the other algorithms do not back off by a ratio)",
    );
  }
  const { initialLimit, minLimit, maxLimit, ...rest } = limiter;
  const algorithm = new AimdLimit({ initialLimit, minLimit, maxLimit, backoffRatio } as AimdOptions);
  return { ...(rest as ConcurrencyLimiterOptions), algorithm };
}
