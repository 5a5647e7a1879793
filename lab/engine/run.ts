/**
 * Runs a scenario: each client configuration gets its own upstream (same seed, same phases, same
 * time zero) and its own copy of the load, all at once, so the configurations are compared on
 * identical conditions in one run's time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { loadBulwark, type LabBulwark, type LabClient } from './client.js';
import { settleWithin } from './loopback.js';
import { createLoadDriver, type CallRecord, type LoadDriver } from './load.js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startSampler, type BreakerTransition, type RateLimitWait, type Sample } from './sampler.js';
import { describePhase, phaseAt, type ClientConfig, type Scenario } from './scenario.js';
import { startUpstream, type ReceivedRecord, type Upstream } from './upstream.js';
import type { WorkRecord } from './chain.js';

/** Everything recorded for one configuration. */
export interface ConfigRun {
  readonly config: ClientConfig;
  readonly calls: readonly CallRecord[];
  readonly samples: readonly Sample[];
  readonly waits: readonly RateLimitWait[];
  readonly transitions: readonly BreakerTransition[];
  readonly received: readonly ReceivedRecord[];
  readonly downstreamWork: readonly WorkRecord[];
}

/** A finished run, before metrics. */
export interface LabRun {
  readonly scenario: Scenario;
  readonly startedAt: Date;
  readonly configs: readonly ConfigRun[];
  /** How late the event loop ran timers during the run, ms: a loaded machine makes every figure noisy. */
  readonly loopDelay: LoopDelay;
}

/** Event-loop delay percentiles over a run, in ms. */
export interface LoopDelay {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Progress while a run is under way. */
export interface Progress {
  readonly elapsed: number;
  readonly duration: number;
  readonly phase: string;
  readonly configs: readonly { readonly name: string; readonly done: number; readonly ok: number }[];
}

/** Options of {@link runScenario}. */
export interface RunOptions {
  /** The bulwark module to drive. @default this package's */
  readonly bulwark?: LabBulwark;
  /** Called about every 200 ms, and once at the end. */
  readonly onProgress?: (progress: Progress) => void;
  /** How long calls still running at the end may take before they are cut off. @default 3000 */
  readonly graceMs?: number;
}

/** A configuration whose options `createClient` refused. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
  constructor(config: string, cause: unknown) {
    super(`Configuration "${config}": ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const LOOP_RESOLUTION = 10;

/** Runs `scenario` and returns the raw records. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<LabRun> {
  const bulwark = options.bulwark ?? (await loadBulwark());
  const upstreams: Upstream[] = [];
  const clients: LabClient[] = [];
  try {
    for (const config of scenario.clients) {
      const upstream = await startUpstream(scenario);
      upstreams.push(upstream);
      try {
        clients.push(bulwark.createClient({ ...config.options, name: config.name, baseUrl: upstream.url }));
      } catch (error) {
        throw new ConfigurationError(config.name, error);
      }
    }
    const origin = performance.now();
    const now = (): number => performance.now() - origin;
    const startedAt = new Date();
    for (const upstream of upstreams) upstream.start(origin);
    const drivers: LoadDriver[] = clients.map((client) =>
      createLoadDriver({
        bulwark,
        client,
        load: scenario.load,
        request: scenario.request,
        duration: scenario.duration,
        seed: scenario.seed,
        now,
      }),
    );
    const sampler = startSampler(
      new Map(
        scenario.clients.map((c, i) => [
          c.name,
          { client: clients[i]!, inflight: () => drivers[i]!.inflight() },
        ]),
      ),
      now,
    );
    const report = (): void =>
      options.onProgress?.({
        elapsed: Math.min(now(), scenario.duration),
        duration: scenario.duration,
        phase: describePhase(phaseAt(scenario, now())),
        configs: scenario.clients.map((c, i) => {
          const calls = drivers[i]!.calls;
          return {
            name: c.name,
            done: calls.length,
            ok: calls.reduce((n, call) => n + (call.ok ? 1 : 0), 0),
          };
        }),
      });
    const progress = setInterval(report, 200);
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION });
    loop.enable();
    try {
      await Promise.all(drivers.map((d) => d.run()));
      const rest = scenario.duration - now();
      if (rest > 0) await sleep(rest);
      sampler.sampleNow();
      loop.disable();
      await Promise.all(drivers.map((d) => d.drain(options.graceMs ?? 3000)));
    } finally {
      loop.disable();
      clearInterval(progress);
      sampler.stop();
    }
    report();
    // The histogram holds the time between the sampling timer's turns: its resolution is no lag.
    const toMs = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LOOP_RESOLUTION) : 0);
    return {
      scenario,
      startedAt,
      loopDelay: {
        p50: toMs(loop.percentile(50)),
        p99: toMs(loop.percentile(99)),
        max: toMs(loop.max),
      },
      configs: scenario.clients.map((config, i) => ({
        config,
        calls: drivers[i]!.calls,
        samples: sampler.samples.get(config.name) ?? [],
        waits: sampler.waits.get(config.name) ?? [],
        transitions: sampler.transitions.get(config.name) ?? [],
        received: upstreams[i]!.received,
        downstreamWork: upstreams[i]!.downstreamWork,
      })),
    };
  } finally {
    await Promise.allSettled(clients.map((c) => settleWithin(c.close(), 2000)));
    await Promise.allSettled(upstreams.map((u) => u.close()));
  }
}
