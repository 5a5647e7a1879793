import type { CircuitStore } from '../policies/store-contract.js';
import type { BulwarkResponse } from '../http/response.js';
import { circuitRejection } from './breaker-stage.js';
import { isCallerEnded, isRejection, judgeHealth, type AttemptOutcome, type Health } from './outcome.js';
import { policyKeyOf, type PolicyKey } from './policy-key.js';
import type { CallContext, Middleware, Next } from './types.js';

/** Settings of the shared circuit stage. */
export interface SharedCircuitSettings {
  readonly store: CircuitStore;
  readonly isFailure: (outcome: AttemptOutcome) => boolean;
  /** Open duration after a failed shared probe: twice the last one, capped. */
  readonly maxOpenDuration: number;
  /** Probe lease when the attempt has no timeout, ms. */
  readonly defaultLeaseMs: number;
  /** The client's deadline propagation header, for the default health judgement. */
  readonly deadlineHeader: string | false;
  /** The client's `circuitBreaker.key`, as the local breaker uses it. */
  readonly key?: PolicyKey | undefined;
}

/**
 * Circuit state shared across nodes (`circuitBreaker: { store }`), in front of the local
 * breaker. One store call per decision: an open circuit any node reported refuses the call
 * here; when its open period is over, exactly one node in the fleet gets the probe lease, and
 * its outcome closes the circuit for all or reopens it for twice as long. While the shared
 * state is closed, each node's own breaker decides (and reports its trips to the store).
 */
export function createSharedCircuitStage(settings: SharedCircuitSettings): Middleware {
  return async (ctx, next) => {
    if (ctx.policies.circuitBreaker === false) return next(ctx);
    const { store } = settings;
    const key = policyKeyOf(ctx, settings.key, 'circuitBreaker.key');
    const shared = await store.check(key);
    if (shared.state === 'closed') return next(ctx);
    if (shared.state === 'open') throw circuitRejection(ctx, key, shared.retryAfterMs);
    const lease = ctx.attemptTimeoutMs > 0 ? ctx.attemptTimeoutMs : settings.defaultLeaseMs;
    if (shared.probing || !(await store.acquireProbe(key, lease)))
      throw circuitRejection(ctx, key, Math.min(lease, shared.openMs));
    return probe(ctx, next, settings, key, shared.openMs);
  };
}

async function probe(
  ctx: CallContext,
  next: Next,
  settings: SharedCircuitSettings,
  key: string,
  openMs: number,
): Promise<BulwarkResponse> {
  // A probe that says nothing of the upstream gives the lease back at once.
  const settle = (health: Health): Promise<void> | void =>
    health === 'failure'
      ? settings.store.open(key, Math.min(openMs * 2, settings.maxOpenDuration))
      : health === 'success'
        ? settings.store.close(key)
        : settings.store.open(key, 1);
  let response: BulwarkResponse;
  try {
    response = await next(ctx);
  } catch (error) {
    if (isRejection(error) || isCallerEnded(error)) await settle('neutral');
    else await settle(await judged(settings, ctx, undefined, error, () => settle('neutral')));
    throw error;
  }
  await settle(await judged(settings, ctx, response, undefined, () => settle('neutral')));
  return response;
}

async function judged(
  settings: SharedCircuitSettings,
  ctx: CallContext,
  response: BulwarkResponse | undefined,
  error: unknown,
  release: () => Promise<void> | void,
): Promise<Health> {
  try {
    return judgeHealth(settings.isFailure, ctx, response, error, settings.deadlineHeader);
  } catch (thrown) {
    response?.dump();
    await release();
    throw thrown;
  }
}
