/**
 * What a Redis Cluster client knows of its cluster, read through the client's own slot map:
 * which master owns a hash slot (ioredis `Cluster#slots`, node-redis `cluster.slots[slot].master`)
 * so a turn's decisions go as one call per master, and a way to ask it to read the topology again
 * (ioredis `refreshSlotsCache`, node-redis `_slots.rediscover`). While calls to a master fail or
 * stall, {@link ClusterWatch} has the client re-read the topology every {@link REFRESH_MS}, so the
 * moment a replica is promoted the client sends its slots there (node-redis alone would wait for
 * the dead node to return, or 5 s). The store's health is kept per master, so a master's outage
 * sends only its own keys to the fallback, and the promoted replica is a master that is up.
 */

/** How often a troubled cluster's topology is read again, ms. */
export const REFRESH_MS = 100;

/** A watch that saw no failure for this long stops refreshing, ms. */
export const QUIET_MS = 2_000;

/** The slot map of a cluster client. */
export interface ClusterTopology {
  /** The address of the master that owns `slot` now, or undefined when the client does not know. */
  ownerOf(slot: number): string | undefined;
  /** Asks the client to read the topology again; resolves when it has (or failed to). Never rejects. */
  refresh(): Promise<void>;
}

type Bag = Record<string, unknown>;

const isFunction = (value: unknown): value is (...args: unknown[]) => unknown => typeof value === 'function';

function bag(value: unknown): Bag | undefined {
  return typeof value === 'object' && value !== null ? (value as Bag) : undefined;
}

function nodeRedisAddress(master: Bag | undefined): string | undefined {
  if (master === undefined) return undefined;
  const address = master['address'];
  if (typeof address === 'string') return address;
  const { host, port, id } = master;
  if (typeof host === 'string' && typeof port === 'number') return `${host}:${port}`;
  return typeof id === 'string' ? id : undefined;
}

/** The slot map of an ioredis `Cluster` or a node-redis cluster, or undefined for any other client. */
export function clusterTopology(client: unknown): ClusterTopology | undefined {
  const c = bag(client);
  if (c === undefined) return undefined;
  if (c['isCluster'] === true && isFunction(c['refreshSlotsCache'])) {
    const refreshSlotsCache = c['refreshSlotsCache'] as (callback: () => void) => void;
    return {
      ownerOf(slot) {
        const slots = c['slots'];
        const nodes: unknown = Array.isArray(slots) ? slots[slot] : undefined;
        const master: unknown = Array.isArray(nodes) ? nodes[0] : undefined;
        return typeof master === 'string' ? master : undefined;
      },
      refresh: () =>
        new Promise((resolve) => {
          try {
            refreshSlotsCache.call(c, () => {
              resolve();
            });
          } catch {
            resolve();
          }
        }),
    };
  }
  if ('masters' in c && 'slots' in c) {
    return {
      ownerOf(slot) {
        const slots = c['slots'];
        const shard = bag(Array.isArray(slots) ? (slots[slot] as unknown) : undefined);
        return nodeRedisAddress(bag(shard?.['master']));
      },
      async refresh() {
        // node-redis re-reads the topology after a MOVED reply, or 5 s after a node starts
        // reconnecting; `_slots.rediscover` is what it calls then.
        const slots = bag(c['_slots']);
        const rediscover = slots?.['rediscover'];
        if (!isFunction(rediscover)) return;
        try {
          await rediscover.call(slots);
        } catch {
          // Every node failed to answer: the next refresh tries again.
        }
      },
    };
  }
  return undefined;
}

/**
 * Watches the slots whose calls failed or stalled: re-reads the topology every
 * {@link REFRESH_MS} until each of them has a new owner or answers again, or nobody asked for
 * them for {@link QUIET_MS}.
 */
export class ClusterWatch {
  readonly #topology: ClusterTopology;
  /** Troubled slots and the owner they had when their trouble began. */
  readonly #troubled = new Map<number, string | undefined>();
  #lastTroubleAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing = false;
  #closed = false;

  constructor(topology: ClusterTopology) {
    this.#topology = topology;
  }

  /** Whether any slot is troubled now (for tests and inspection). */
  get troubled(): number {
    return this.#troubled.size;
  }

  /** A call to `slot` failed or missed its deadline. */
  trouble(slot: number): void {
    if (this.#closed) return;
    this.#lastTroubleAt = Date.now();
    if (!this.#troubled.has(slot)) this.#troubled.set(slot, this.#topology.ownerOf(slot));
    if (this.#timer === undefined && !this.#refreshing) this.#schedule(0);
  }

  /** A call to `slot` was answered: its node serves it again. */
  answered(slot: number): void {
    if (this.#troubled.size > 0) this.#troubled.delete(slot);
  }

  /** Stops refreshing. */
  close(): void {
    this.#closed = true;
    this.#troubled.clear();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    const timer = setTimeout(this.#tick, ms);
    timer.unref();
    this.#timer = timer;
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#closed || this.#troubled.size === 0) return;
    this.#refreshing = true;
    void this.#topology.refresh().then(() => {
      this.#refreshing = false;
      if (this.#closed) return;
      for (const [slot, owner] of this.#troubled) {
        const now = this.#topology.ownerOf(slot);
        if (now !== undefined && now !== owner) this.#troubled.delete(slot);
      }
      if (this.#troubled.size === 0) return;
      // Nobody has called for the troubled slots lately: forget them rather than poll forever.
      if (Date.now() - this.#lastTroubleAt > QUIET_MS) {
        this.#troubled.clear();
        return;
      }
      this.#schedule(REFRESH_MS);
    });
  };
}
