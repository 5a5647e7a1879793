/**
 * The part of bulwark's public API (DESIGN.md §1) the lab drives, and a tolerant reader of
 * `client.inspect()`: the lab charts breaker states and concurrency limits from whatever the
 * snapshot holds, and draws nothing for parts a configuration does not use.
 */

/** The response fields the lab reads. */
export interface LabResponse {
  readonly status: number;
  readonly attempts: number;
  text(): Promise<string>;
}

/** The request options the lab sends. */
export interface LabRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}

/** A bulwark client as the lab uses it. */
export interface LabClient {
  request(options: LabRequest): Promise<LabResponse>;
  inspect(): unknown;
  close(): Promise<void>;
}

/** The bulwark module as the lab uses it: `createClient`, `isBulwarkError`, `withDeadline`. */
export interface LabBulwark {
  createClient(options: Record<string, unknown>): LabClient;
  isBulwarkError(value: unknown): boolean;
  withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T>;
}

/** Loads bulwark from this package (src under tsx, dist/src once built). */
export async function loadBulwark(): Promise<LabBulwark> {
  const mod = await import('../../src/index.js');
  return {
    createClient: (options) => mod.createClient(options),
    isBulwarkError: (value) => mod.isBulwarkError(value),
    withDeadline: (ms, fn) => mod.withDeadline(ms, fn),
  };
}

/** A breaker state as charted. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** What the lab keeps of one `inspect()` snapshot. */
export interface InspectReading {
  /** Breaker state per key. */
  readonly breakers: ReadonlyMap<string, BreakerState>;
  /** The concurrency limit (summed over keys), when a limiter is configured. */
  readonly limit: number | undefined;
  /** Requests the concurrency limiter counts in flight, when it is configured. */
  readonly limiterInflight: number | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * Reads breaker states and concurrency limits out of a snapshot without depending on its layout:
 * any `{ key, state }` with a breaker state is a breaker, any `{ limit, inflight }` is a
 * concurrency limiter (summed over keys), at any depth up to 4 (pool statistics are skipped).
 */
export function readInspect(snapshot: unknown): InspectReading {
  const breakers = new Map<string, BreakerState>();
  let limit: number | undefined;
  let limiterInflight: number | undefined;
  const walk = (value: unknown, name: string, depth: number): void => {
    if (depth > 4 || !isObj(value)) return;
    if (Array.isArray(value)) {
      value.forEach((item: unknown, i) => walk(item, `${name}[${i}]`, depth + 1));
      return;
    }
    const state = toState(value['state']);
    if (state !== undefined) {
      breakers.set(typeof value['key'] === 'string' ? value['key'] : name, state);
      return;
    }
    const lim = num(value['limit']);
    const inflight = num(value['inflight']) ?? num(value['inFlight']);
    if (lim !== undefined && inflight !== undefined) {
      limit = (limit ?? 0) + lim;
      limiterInflight = (limiterInflight ?? 0) + inflight;
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      if (key !== 'pools') walk(child, key, depth + 1);
    }
  };
  walk(snapshot, 'client', 0);
  return { breakers, limit, limiterInflight };
}
function toState(value: unknown): BreakerState | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.toLowerCase().replace(/[_\s]/g, '-');
  if (s === 'closed' || s === 'open') return s;
  if (s === 'half-open' || s === 'halfopen') return 'half-open';
  return undefined;
}
