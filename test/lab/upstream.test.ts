import { test, describe, afterEach } from 'node:test';
import { strict as assert } from 'node:assert';
import { Agent, request } from 'undici';
import { parseScenario } from '../../lab/engine/parse-scenario.js';
import { startUpstream, type Upstream } from '../../lab/engine/upstream.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((u) => u.close()));
});

// Each test puts the upstream at a chosen point of its timeline by starting its clock in the
// past, so what is asserted never depends on how fast the test runs.
async function upstreamAt(t: number, phases: unknown[], seed = 1, latency: unknown = 1): Promise<Upstream> {
  const scenario = parseScenario(
    { name: 't', duration: 100, load: { rate: 1 }, seed, upstream: { latency, phases } },
    't',
  );
  const upstream = await startUpstream(scenario);
  open.push(upstream);
  upstream.start(performance.now() - t);
  return upstream;
}

type Result =
  | { status: number; headers: Record<string, string | string[] | undefined>; ms: number }
  | { error: string; ms: number };

async function get(
  upstream: Upstream,
  headers: Record<string, string> = {},
  dispatcher?: Agent,
): Promise<Result> {
  const start = performance.now();
  try {
    const res = await request(`${upstream.url}/x`, {
      headers,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    await res.body.text();
    return { status: res.statusCode, headers: res.headers, ms: performance.now() - start };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error), ms: performance.now() - start };
  }
}

const statusOf = (r: Result): number | string => ('status' in r ? r.status : r.error);

describe('lab upstreams', () => {
  test('healthy: 200 with the configured latency', async () => {
    const up = await upstreamAt(0, [], 1, 30);
    const r = await get(up, { 'x-lab-call': '7' });
    assert.equal(statusOf(r), 200);
    assert.ok(r.ms >= 25, `answered in ${r.ms} ms`);
    assert.equal(up.received.length, 1);
    assert.equal(up.received[0]!.call, '7');
  });

  test('outage (refuse): the port is closed during the phase and listens again after it', async () => {
    const up = await upstreamAt(800, [{ fault: 'outage', mode: 'refuse', from: 1, to: 1.5 }]);
    const agent = new Agent();
    open.push(agent);
    assert.equal(statusOf(await get(up, {}, agent)), 200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(statusOf(await get(up, {}, agent)), 'ECONNREFUSED');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(statusOf(await get(up, {}, agent)), 200);
  });

  test('outage (reset): connections are accepted and reset, nothing is answered', async () => {
    const up = await upstreamAt(1000, [{ fault: 'outage', mode: 'reset', from: 0, to: 50 }]);
    const r = await get(up);
    assert.match(String(statusOf(r)), /ECONNRESET|UND_ERR_SOCKET/);
  });

  test('flaky: errors and resets at the given rates, the same sequence for the same seed', async () => {
    const phases = [{ fault: 'flaky', errorRate: 0.3, resetRate: 0.1, status: 502 }];
    const run = async (): Promise<(number | string)[]> => {
      const up = await upstreamAt(0, phases, 42);
      const out: (number | string)[] = [];
      for (let i = 0; i < 200; i++) out.push(statusOf(await get(up)));
      return out;
    };
    const first = await run();
    const count = (v: (s: number | string) => boolean): number => first.filter(v).length;
    const errors = count((s) => s === 502);
    const resets = count((s) => typeof s === 'string');
    assert.ok(errors >= 44 && errors <= 76, `${errors} of 200 answered 502`);
    assert.ok(resets >= 8 && resets <= 32, `${resets} of 200 were reset`);
    assert.equal(
      count((s) => s === 200),
      200 - errors - resets,
    );
    assert.deepEqual(await run(), first);
  });

  test('slow: latency climbs across the phase', async () => {
    const phases = [{ fault: 'slow', from: 0, to: 100, startLatency: 0, endLatency: 1000 }];
    const early = await upstreamAt(1000, phases);
    const late = await upstreamAt(60_000, phases);
    const [a, b] = await Promise.all([get(early), get(late)]);
    assert.equal(statusOf(a), 200);
    assert.equal(statusOf(b), 200);
    assert.ok(a.ms < 200, `early call took ${a.ms} ms`);
    assert.ok(b.ms >= 500, `late call took ${b.ms} ms`);
  });

  test('overload: capacity served at once, the queue waits, past the queue bound 503', async () => {
    const up = await upstreamAt(0, [{ fault: 'overload', capacity: 2, serviceTime: 60, queue: 3 }]);
    const agent = new Agent({ connections: 20 });
    open.push(agent);
    const results = await Promise.all(Array.from({ length: 9 }, () => get(up, {}, agent)));
    const ok = results.filter((r) => statusOf(r) === 200);
    const shed = results.filter((r) => statusOf(r) === 503);
    assert.equal(ok.length, 5, 'two served at once plus three in line');
    assert.equal(shed.length, 4);
    const slowest = Math.max(...ok.map((r) => r.ms));
    const fastestShed = Math.min(...shed.map((r) => r.ms));
    assert.ok(slowest >= 150, `the last in line waited for two rounds of service: ${slowest} ms`);
    assert.ok(fastestShed < slowest, 'a refused request is answered without waiting for service');
  });

  test('throttle: a quota per window, then 429 with Retry-After and the IETF RateLimit fields', async () => {
    const up = await upstreamAt(0, [{ fault: 'throttle', quota: 3, window: 60 }]);
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await get(up));
    assert.deepEqual(results.map(statusOf), [200, 200, 200, 429, 429]);
    const [first, , third, refused] = results as { status: number; headers: Record<string, string> }[];
    assert.equal(first!.headers['ratelimit-policy'], '"default";q=3;w=60');
    assert.match(first!.headers['ratelimit']!, /^"default";r=2;t=(59|60)$/);
    assert.match(third!.headers['ratelimit']!, /^"default";r=0;t=/);
    assert.equal(first!.headers['retry-after'], undefined);
    assert.match(refused!.headers['retry-after']!, /^(59|60)$/);
    assert.equal(refused!.headers['ratelimit'], `"default";r=0;t=${refused!.headers['retry-after']}`);
  });

  test('throttle: the quota is back in the next window', async () => {
    const up = await upstreamAt(0, [{ fault: 'throttle', quota: 1, window: 1 }]);
    assert.equal(statusOf(await get(up)), 200);
    assert.equal(statusOf(await get(up)), 429);
    up.start(performance.now() - 1500);
    assert.equal(statusOf(await get(up)), 200);
  });

  test('deadline: service B refuses work the propagated deadline cannot fit, and does it without one', async () => {
    const up = await upstreamAt(0, [{ fault: 'deadline', hopLatency: 1, downstreamLatency: 300 }]);
    const refused = await get(up, { deadline: '100', 'x-lab-call': '1' });
    assert.equal(statusOf(refused), 504);
    assert.ok(refused.ms < 250, `refused in ${refused.ms} ms, without doing the work`);
    const done = await get(up, { 'x-lab-call': '2' });
    assert.equal(statusOf(done), 200);
    assert.ok(done.ms >= 290, `worked ${done.ms} ms`);
    const enough = await get(up, { deadline: '2000', 'x-lab-call': '3' });
    assert.equal(statusOf(enough), 200);
    assert.deepEqual(
      up.downstreamWork.map((w) => [w.call, w.skipped, w.workMs]),
      [
        ['1', true, 0],
        ['2', false, 300],
        ['3', false, 300],
      ],
    );
    assert.equal(
      statusOf(await get(up, { deadline: '0' })),
      504,
      'an expired deadline is not forwarded at all',
    );
    assert.equal(up.downstreamWork.length, 3);
  });

  test('blackhole: requests are read and never answered; after the phase the API answers again', async () => {
    const up = await upstreamAt(1000, [{ fault: 'blackhole', from: 0, to: 50 }]);
    const agent = new Agent({ headersTimeout: 300 });
    open.push(agent);
    const r = await get(up, { 'x-lab-call': '4' }, agent);
    assert.equal(statusOf(r), 'UND_ERR_HEADERS_TIMEOUT');
    assert.ok(r.ms >= 250, `gave up after ${r.ms} ms`);
    assert.deepEqual(
      up.received.map((x) => [x.call, x.outcome]),
      [['4', 'silent']],
    );
    const after = await upstreamAt(60_000, [{ fault: 'blackhole', from: 0, to: 50 }]);
    assert.equal(statusOf(await get(after, {}, agent)), 200);
  });

  test('resets: every open connection is reset at each drop, and new ones are served', async () => {
    const phases = [{ fault: 'resets', from: 0.3, to: 50, every: 60, latency: 1 }];
    const up = await upstreamAt(0, phases, 1, 1000);
    const agent = new Agent();
    open.push(agent);
    // Sent in the healthy second before the drop, still waiting for its 1 s answer when it comes.
    const inFlight = await get(up, { 'x-lab-call': '1' }, agent);
    assert.match(String(statusOf(inFlight)), /ECONNRESET|UND_ERR_SOCKET/);
    assert.ok(inFlight.ms < 900, `reset after ${inFlight.ms} ms, before its answer was due`);
    assert.equal(statusOf(await get(up, { 'x-lab-call': '2' }, agent)), 200);
    assert.deepEqual(
      up.received.map((x) => [x.call, x.outcome]),
      [
        ['1', 'reset'],
        ['2', 200],
      ],
    );
  });
});
