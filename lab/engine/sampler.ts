/**
 * Samples what a client reports about itself while the load runs: breaker states and the
 * concurrency limit from `inspect()`, requests in flight, and rate-limit waits from the
 * `bulwark:rate-limit` diagnostics channel.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readInspect, type BreakerState, type LabClient } from './client.js';

/** One sample. Times are ms since the run began. */
export interface Sample {
  readonly at: number;
  readonly breakers: ReadonlyMap<string, BreakerState>;
  readonly limit: number | undefined;
  readonly limiterInflight: number | undefined;
  /** Calls the load generator has started and not seen finish. */
  readonly inflight: number;
}

/** A rate-limit wait seen on the diagnostics channel. */
export interface RateLimitWait {
  readonly at: number;
  readonly ms: number;
}

/** Samples several clients on one timer. */
export interface Sampler {
  readonly samples: ReadonlyMap<string, Sample[]>;
  readonly waits: ReadonlyMap<string, RateLimitWait[]>;
  sampleNow(): void;
  stop(): void;
}

type Obj = Record<string, unknown>;

/**
 * Starts sampling every `everyMs`. `targets` maps a client name (the `name` option the lab gave
 * it) to its client and in-flight counter.
 */
export function startSampler(
  targets: ReadonlyMap<string, { client: LabClient; inflight: () => number }>,
  now: () => number,
  everyMs = 100,
): Sampler {
  const samples = new Map<string, Sample[]>();
  const waits = new Map<string, RateLimitWait[]>();
  for (const name of targets.keys()) {
    samples.set(name, []);
    waits.set(name, []);
  }
  const sampleNow = (): void => {
    const at = now();
    for (const [name, target] of targets) {
      let snapshot: unknown;
      try {
        snapshot = target.client.inspect();
      } catch {
        snapshot = undefined;
      }
      samples.get(name)!.push({ at, inflight: target.inflight(), ...readInspect(snapshot) });
    }
  };
  // The channel is process-wide; a message is attributed by the client name it carries.
  const onRateLimit = (message: unknown): void => {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Obj;
    const client = m['client'] ?? m['name'] ?? m['clientName'];
    const ms = [m['waitMs'], m['delayMs'], m['wait'], m['delay']].find((v) => typeof v === 'number');
    if (typeof client !== 'string' || typeof ms !== 'number' || ms <= 0) return;
    waits.get(client)?.push({ at: now(), ms });
  };
  subscribe('bulwark:rate-limit', onRateLimit);
  const timer = setInterval(sampleNow, everyMs);
  return {
    samples,
    waits,
    sampleNow,
    stop() {
      clearInterval(timer);
      unsubscribe('bulwark:rate-limit', onRateLimit);
    },
  };
}
