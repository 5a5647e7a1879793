/**
 * The local fallback of `onStoreError: 'local'` as this node's share of the fleet's limit. While
 * Redis answers, every shared decision tells the local bucket where the shared one stands, and
 * the Redis store learns from presence beats how many nodes share each limit; when Redis is
 * away, this node decides with 1/n of the limit (n × the emission interval, burst / n: the same
 * GCRA tolerance, so a bucket in step with the shared one holds this node's share of what was
 * left). N nodes then admit about one limit together, not N.
 */
import type {
  GcraParams,
  RateLimitDecision,
  RateLimitStore,
  TakeRequest,
} from '../policies/store-contract.js';
import type { Clock } from '../clock.js';

/** A primary store that knows how many nodes share a limit (the Redis store's presence beats). */
export interface FleetAware {
  /** Nodes seen sharing `key` lately, or undefined when unknown. */
  sharers(key: string): number | undefined;
}

/** A local store whose buckets can be set from the shared state (the MemoryStore can). */
interface SeedableStore extends RateLimitStore {
  seed(key: string, tatMs: number): void;
}

function isSeedable(store: RateLimitStore): store is SeedableStore {
  return typeof (store as Partial<SeedableStore>).seed === 'function';
}

/** Whether a primary store counts the nodes of each limit. */
export function isFleetAware(store: RateLimitStore): store is RateLimitStore & FleetAware {
  return typeof (store as Partial<FleetAware>).sharers === 'function';
}

/**
 * The debt (ms ahead of now) of the shared bucket after `decision`, from what every store answers:
 * exact to the millisecond for a wait or a refusal, at most one emission interval high otherwise.
 */
export function debtAfter(decision: RateLimitDecision, params: GcraParams, cost: number): number {
  const t = params.emissionIntervalMs;
  const tau = params.burst * t;
  if (!decision.allowed) return tau + decision.retryAfterMs - cost * t;
  if (decision.waitMs > 0) return tau + decision.waitMs;
  return (params.burst - decision.remaining) * t;
}

/** One node's share of every limit it falls back for. */
export class FleetShare {
  readonly #local: RateLimitStore;
  readonly #seedable: SeedableStore | undefined;
  readonly #clock: Clock;
  readonly #nodes: number | undefined;
  readonly #fleet: FleetAware | undefined;

  /** @param nodes the fleet size the user gave, which wins over what the beats say */
  constructor(local: RateLimitStore, clock: Clock, nodes: number | undefined, fleet: FleetAware | undefined) {
    this.#local = local;
    this.#seedable = isSeedable(local) ? local : undefined;
    this.#clock = clock;
    this.#nodes = nodes;
    this.#fleet = fleet;
  }

  /** How many nodes share `key` (1 when nobody knows). */
  nodesOf(key: string): number {
    const n = this.#nodes ?? this.#fleet?.sharers(key) ?? 1;
    return n >= 1 ? n : 1;
  }

  /** Keeps the local bucket of `request.key` in step with a decision the shared store made. */
  learn(request: TakeRequest, decision: RateLimitDecision): void {
    const seedable = this.#seedable;
    if (seedable === undefined) return;
    seedable.seed(request.key, this.#clock.now() + debtAfter(decision, request.params, request.cost ?? 1));
  }

  /** Decides `request` locally with this node's share of the limit. */
  take(request: TakeRequest): RateLimitDecision | Promise<RateLimitDecision> {
    const n = this.nodesOf(request.key);
    if (n === 1) return this.#local.take(request);
    const { emissionIntervalMs, burst } = request.params;
    const params: GcraParams = { emissionIntervalMs: emissionIntervalMs * n, burst: burst / n };
    return this.#local.take({ ...request, params });
  }
}
