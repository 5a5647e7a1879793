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

/** A breaker state change seen on the `bulwark:circuit` diagnostics channel. */
export interface BreakerTransition {
  readonly at: number;
  readonly key: string;
  readonly from: string;
  readonly to: string;
  /** Why, as bulwark said it (`reason`) or as the lab reads it from the message. */
  readonly reason: string;
}

/** Samples several clients on one timer. */
export interface Sampler {
  readonly samples: ReadonlyMap<string, Sample[]>;
  readonly waits: ReadonlyMap<string, RateLimitWait[]>;
  readonly transitions: ReadonlyMap<string, BreakerTransition[]>;
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
  const transitions = new Map<string, BreakerTransition[]>();
  for (const name of targets.keys()) {
    samples.set(name, []);
    waits.set(name, []);
    transitions.set(name, []);
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
  const onCircuit = (message: unknown): void => {
    if (typeof message !== 'object' || message === null) return;
    const m = message as Obj;
    if (m['type'] !== 'transition' || typeof m['client'] !== 'string') return;
    const [key, from, to] = [m['key'], m['from'], m['to']].map((v) => (typeof v === 'string' ? v : '?'));
    transitions.get(m['client'])?.push({ at: now(), key: key!, from: from!, to: to!, reason: reasonOf(m) });
  };
  subscribe('bulwark:rate-limit', onRateLimit);
  subscribe('bulwark:circuit', onCircuit);
  const timer = setInterval(sampleNow, everyMs);
  return {
    samples,
    waits,
    transitions,
    sampleNow,
    stop() {
      clearInterval(timer);
      unsubscribe('bulwark:rate-limit', onRateLimit);
      unsubscribe('bulwark:circuit', onCircuit);
    },
  };
}

/**
 * Why a breaker changed state: the message's `reason` when bulwark gives one, otherwise what its
 * states and figures imply (a trip from closed reports the window's failure ratio).
 */
export function reasonOf(m: Readonly<Obj>): string {
  const ratio = typeof m['failureRatio'] === 'number' ? m['failureRatio'] : undefined;
  const openMs = typeof m['openMs'] === 'number' ? m['openMs'] : undefined;
  const openFor = openMs === undefined ? '' : `, open for ${formatMs(openMs)}`;
  const ratioText = ratio === undefined ? '' : `, failure ratio ${Math.round(ratio * 100)}%`;
  if (typeof m['reason'] === 'string' && m['reason'] !== '')
    return `${m['reason']}${m['to'] === 'open' ? `${ratioText}${openFor}` : ''}`;
  const transition = `${String(m['from'])}→${String(m['to'])}`;
  switch (transition) {
    case 'closed→open':
      return `failures in the window${ratioText}${openFor}`;
    case 'half-open→open':
      return `a probe failed${openFor}`;
    case 'open→half-open':
      return 'open duration elapsed: probing';
    case 'half-open→closed':
      return 'probes passed';
    default:
      return transition;
  }
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(2))} s` : `${Math.round(ms)} ms`;
}
