/**
 * A real loopback HTTP server whose behaviour follows the scenario's phases over time: healthy,
 * down (port closed, or connections reset), flaky, slowing, overloaded, throttling, or calling a
 * second service under a deadline. Faults are drawn from a seeded generator, so two upstreams
 * built with the same seed misbehave identically for the same sequence of requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { startDownstream, readDeadlineHeader, type DownstreamService, type WorkRecord } from './chain.js';
import { Quota, ServerQueue } from './faults.js';
import { closeServer, listen, relisten, resetSocket } from './loopback.js';
import { createPrng, deriveSeed, sampleLatency } from './prng.js';
import {
  phaseAt,
  type DeadlinePhase,
  type Latency,
  type Phase,
  type ResetsPhase,
  type Scenario,
} from './scenario.js';

/** One request as the upstream saw it. Times are ms since the run began. */
export interface ReceivedRecord {
  readonly at: number;
  readonly done: number;
  /**
   * The status sent, `reset` when the connection was reset instead, or `silent` when a black
   * hole swallowed the request (then `done` is `at`: no answer ever left).
   */
  readonly outcome: number | 'reset' | 'silent';
  /** The lab's call id (`x-lab-call`), shared by every attempt of one call. */
  readonly call: string | undefined;
}

/** A running upstream. */
export interface Upstream {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Every request received, in arrival order. */
  readonly received: readonly ReceivedRecord[];
  /** Service B's log, for scenarios with a `deadline` phase (empty otherwise). */
  readonly downstreamWork: readonly WorkRecord[];
  /**
   * Starts the phase clock at `origin` (a `performance.now()` value, default now), so several
   * upstreams of one run share the same time zero. Before this the upstream is healthy.
   */
  start(origin?: number): void;
  /** Milliseconds since `start()`, negative before it. */
  now(): number;
  close(): Promise<void>;
}

/** What an upstream needs from a scenario. */
export type UpstreamSpec = Pick<Scenario, 'phases' | 'latency' | 'seed'>;

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** Starts an upstream on `127.0.0.1`, port 0. */
export async function startUpstream(spec: UpstreamSpec): Promise<Upstream> {
  const random = createPrng(deriveSeed(spec.seed, 'upstream'));
  let origin = Number.NaN;
  const now = (): number => (Number.isNaN(origin) ? -1 : performance.now() - origin);
  const received: ReceivedRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const queues = new Map<Phase, ServerQueue>();
  const quotas = new Map<Phase, Quota>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const downstream = spec.phases.some((p) => p.fault === 'deadline')
    ? await startDownstream(deriveSeed(spec.seed, 'downstream'), now, (t) => downstreamLatencyAt(spec, t))
    : undefined;

  const dropped = new WeakSet<Socket>();
  let down = false;
  const goDown = (): void => {
    if (down) return;
    down = true;
    server.close();
    server.closeAllConnections();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const at = now();
    const call = req.headers['x-lab-call'] as string | undefined;
    let logged = false;
    const log = (outcome: ReceivedRecord['outcome']): void => {
      if (logged) return;
      logged = true;
      received.push({ at, done: now(), outcome, call });
    };
    // A connection a `resets` phase dropped before the answer is logged when it happens. (A caller
    // that gave up is not a reset: the work goes on, and its answer is logged as a late one.)
    res.once('close', () => {
      if (dropped.has(req.socket)) log('reset');
    });
    const reply = (status: number, delay: number, headers: Record<string, string> = {}): void => {
      const send = (): void => {
        if (logged) return;
        res
          .writeHead(status, { ...JSON_HEADERS, ...headers })
          .end(status < 400 ? '{"ok":true}' : `{"status":${status}}`);
        log(status);
      };
      if (delay <= 0) send();
      else later(delay, send);
    };
    const reset = (): void => {
      resetSocket(req.socket);
      log('reset');
    };
    req.resume();
    const phase = phaseAt(spec, at);
    switch (phase.fault) {
      case 'healthy':
        reply(200, sampleLatency(phase.latency, random));
        return;
      case 'outage':
        // A refusing outage whose timer has not fired yet (a busy event loop) goes down now.
        if (phase.mode === 'refuse') goDown();
        reset();
        return;
      case 'flaky': {
        const x = random();
        if (x < phase.resetRate) reset();
        else
          reply(
            x < phase.resetRate + phase.errorRate ? phase.status : 200,
            sampleLatency(phase.latency, random),
          );
        return;
      }
      case 'slow': {
        const progress = Math.min(1, Math.max(0, (at - phase.from) / (phase.to - phase.from)));
        const latency = phase.startLatency + (phase.endLatency - phase.startLatency) * progress;
        reply(200, latency * (0.9 + 0.2 * random()));
        return;
      }
      case 'overload': {
        const queue = getOrCreate(queues, phase, () => new ServerQueue(phase));
        const admitted = queue.admit((done) => {
          later(queue.serviceTime(random), () => {
            done();
            reply(200, 0);
          });
        });
        if (!admitted) reply(503, 0);
        return;
      }
      case 'throttle': {
        const quota = getOrCreate(quotas, phase, () => new Quota(phase));
        const decision = quota.take(at);
        reply(
          decision.admitted ? 200 : 429,
          decision.admitted ? sampleLatency(phase.latency, random) : 0,
          quota.headers(decision),
        );
        return;
      }
      case 'blackhole':
        log('silent');
        return;
      case 'resets':
        reply(200, sampleLatency(phase.latency, random));
        return;
      case 'deadline':
        relay(phase, downstream!, req, at, call, now, later).then(
          (status) => reply(status, 0),
          () => reply(502, 0),
        );
        return;
    }
  };

  const server: Server = createServer(handle);
  server.keepAliveTimeout = 30_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const phase = phaseAt(spec, now());
    if (phase.fault !== 'outage') return;
    if (phase.mode === 'refuse') goDown();
    resetSocket(socket);
  });
  server.on('clientError', (_err, socket: Socket) => socket.destroy());
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;

  // A refusing outage really closes the port (ECONNREFUSED), then listens again on the same one.
  const outages = spec.phases.filter((p) => p.fault === 'outage' && p.mode === 'refuse');
  const drops = spec.phases.filter((p) => p.fault === 'resets');
  const dropAll = (phase: ResetsPhase, at: number): void => {
    for (const socket of sockets) {
      dropped.add(socket);
      resetSocket(socket);
    }
    const next = at + phase.every;
    if (next < phase.to) later(next - now(), () => dropAll(phase, next));
  };
  let closed = false;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    downstreamWork: downstream?.work ?? [],
    now,
    start(at = performance.now()) {
      origin = at;
      for (const phase of outages) {
        later(phase.from - now(), goDown);
        later(phase.to - now(), () => {
          down = false;
          if (!closed) void relisten(server, port, () => closed);
        });
      }
      for (const phase of drops) later(phase.from - now(), () => dropAll(phase, phase.from));
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await downstream?.close();
      await closeServer(server);
    },
  };
}

/** Service A's part of the chain: its own work, then B under what is left of the caller's deadline. */
async function relay(
  phase: DeadlinePhase,
  downstream: DownstreamService,
  req: IncomingMessage,
  at: number,
  call: string | undefined,
  now: () => number,
  later: (ms: number, fn: () => void) => void,
): Promise<number> {
  const remaining = readDeadlineHeader(req);
  const deadlineAt = remaining === undefined ? undefined : at + remaining;
  if (deadlineAt !== undefined && deadlineAt <= at) return 504;
  await new Promise<void>((resolve) => {
    later(phase.hopLatency, resolve);
  });
  if (deadlineAt !== undefined && now() >= deadlineAt) return 504;
  return downstream.call(call, deadlineAt === undefined ? undefined : deadlineAt - now());
}

function downstreamLatencyAt(spec: Pick<Scenario, 'phases' | 'latency'>, t: number): Latency {
  const phase = phaseAt(spec, t);
  return phase.fault === 'deadline' ? phase.downstreamLatency : spec.latency;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}
