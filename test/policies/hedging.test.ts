import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hedge, type HedgeOptions } from '../../src/policies/hedging.js';
import { LatencyWindow } from '../../src/policies/latency-window.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/virtual-clock.js';
import { isBulwarkError } from '../../src/errors.js';

interface Plan {
  /** When the attempt answers, in ms after it starts. */
  ms: number;
  /** What it answers: a string value, or an Error to reject with. */
  answer: string | Error;
  /** Keeps running after its signal fires (a transport that ignores aborts). */
  ignoresAbort?: boolean;
}

interface Run {
  started: { index: number; at: number }[];
  signals: AbortSignal[];
  disposed: string[];
  hedges: number[];
  result: Promise<{ value?: string; error?: unknown }>;
}

function run(clock: VirtualClock, plans: Plan[], options: Partial<HedgeOptions<string>> = {}): Run {
  const started: Run['started'] = [];
  const signals: AbortSignal[] = [];
  const disposed: string[] = [];
  const hedges: number[] = [];
  const t0 = clock.now();
  const fn = async (signal: AbortSignal, index: number): Promise<string> => {
    started.push({ index, at: clock.now() - t0 });
    signals.push(signal);
    const plan = plans[index];
    if (plan === undefined) throw new Error(`no plan for attempt ${index}`);
    await clock.sleep(plan.ms, plan.ignoresAbort === true ? undefined : signal);
    if (plan.answer instanceof Error) throw plan.answer;
    return plan.answer;
  };
  const result = hedge(fn, {
    delayMs: 100,
    clock,
    dispose: (v) => {
      disposed.push(v);
    },
    onHedge: (i) => hedges.push(i),
    ...options,
  }).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return { started, signals, disposed, hedges, result };
}

describe('hedge', () => {
  test('a primary that answers before the delay starts no hedge and leaves no timer', async () => {
    const clock = createVirtualClock();
    let asked = 0;
    const r = run(clock, [{ ms: 80, answer: 'primary' }], {
      tryWithdraw: () => {
        asked++;
        return true;
      },
    });
    await clock.advance(80);
    assert.deepEqual(await r.result, { value: 'primary' });
    assert.deepEqual(r.started, [{ index: 0, at: 0 }]);
    assert.equal(clock.pending(), 0);
    assert.equal(asked, 0, 'nothing paid for a hedge that never started');
  });

  test('a slow primary gets a hedge after the delay; the faster answer wins and the loser is aborted', async () => {
    const clock = createVirtualClock();
    const r = run(clock, [
      { ms: 1_000, answer: 'primary' },
      { ms: 50, answer: 'hedge' },
    ]);
    await clock.runAll();
    assert.deepEqual(await r.result, { value: 'hedge' });
    assert.deepEqual(r.started, [
      { index: 0, at: 0 },
      { index: 1, at: 100 },
    ]);
    assert.deepEqual(r.hedges, [1]);
    assert.equal(r.signals[0]?.aborted, true);
    assert.ok(isBulwarkError(r.signals[0].reason, 'ABORTED'));
    assert.equal(r.signals[1]?.aborted, false);
    assert.equal(
      clock.now() - 1_700_000_000_000,
      150,
      'the losing primary’s timer was cleared, not waited for',
    );
  });

  test('a loser that ignores its abort has its late value disposed', async () => {
    const clock = createVirtualClock();
    const r = run(clock, [
      { ms: 300, answer: 'late primary', ignoresAbort: true },
      { ms: 50, answer: 'hedge' },
    ]);
    await clock.advance(150);
    assert.deepEqual(await r.result, { value: 'hedge' });
    assert.deepEqual(r.disposed, []);
    await clock.advance(150);
    assert.deepEqual(r.disposed, ['late primary']);
  });

  test('the primary can still win after the hedge started', async () => {
    const clock = createVirtualClock();
    const r = run(clock, [
      { ms: 120, answer: 'primary' },
      { ms: 500, answer: 'hedge' },
    ]);
    await clock.runAll();
    assert.deepEqual(await r.result, { value: 'primary' });
    assert.equal(r.signals[1]?.aborted, true);
  });

  test('no hedge when the budget refuses', async () => {
    const clock = createVirtualClock();
    const r = run(clock, [{ ms: 1_000, answer: 'primary' }], { tryWithdraw: () => false });
    await clock.runAll();
    assert.deepEqual(await r.result, { value: 'primary' });
    assert.equal(r.started.length, 1);
    assert.deepEqual(r.hedges, []);
  });

  test('an unacceptable answer waits for the others and is disposed when another wins', async () => {
    const clock = createVirtualClock();
    const r = run(
      clock,
      [
        { ms: 150, answer: '503' },
        { ms: 100, answer: '200' },
      ],
      { isAcceptable: (v) => v === '200' },
    );
    await clock.runAll();
    assert.deepEqual(await r.result, { value: '200' });
    assert.deepEqual(r.disposed, ['503']);
  });

  test('when every attempt fails, the last failure is returned and earlier values disposed', async () => {
    const clock = createVirtualClock();
    const values = run(
      clock,
      [
        { ms: 150, answer: '503 first' },
        { ms: 100, answer: '503 second' },
      ],
      { isAcceptable: () => false },
    );
    await clock.runAll();
    assert.deepEqual(await values.result, { value: '503 second' });
    assert.deepEqual(values.disposed, ['503 first']);

    const last = new Error('hedge failed');
    const errors = run(clock, [
      { ms: 150, answer: new Error('primary failed') },
      { ms: 100, answer: last },
    ]);
    await clock.runAll();
    assert.deepEqual(await errors.result, { error: last });
  });

  test('a primary that fails before the delay ends the hedge at once: failures are for the retry policy', async () => {
    const clock = createVirtualClock();
    const failure = new Error('refused');
    const r = run(clock, [
      { ms: 10, answer: failure },
      { ms: 10, answer: 'never' },
    ]);
    await clock.advance(10);
    assert.deepEqual(await r.result, { error: failure });
    assert.equal(r.started.length, 1);
    assert.equal(clock.pending(), 0);
  });

  test('the caller’s abort cancels every attempt and rejects with its reason', async () => {
    const clock = createVirtualClock();
    const controller = new AbortController();
    const r = run(
      clock,
      [
        { ms: 1_000, answer: 'primary', ignoresAbort: true },
        { ms: 1_000, answer: 'hedge' },
      ],
      { signal: controller.signal },
    );
    await clock.advance(150);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    assert.deepEqual(await r.result, { error: reason });
    assert.ok(r.signals.every((s) => s.aborted && s.reason === reason));
    await clock.runAll();
    assert.deepEqual(r.disposed, ['primary'], 'the value that came anyway was disposed');
  });

  test('an unacceptable value held when the caller aborts is disposed', async () => {
    const clock = createVirtualClock();
    const controller = new AbortController();
    const r = run(
      clock,
      [
        { ms: 120, answer: '503' },
        { ms: 1_000, answer: 'hedge' },
      ],
      { signal: controller.signal, isAcceptable: (v) => v !== '503' },
    );
    await clock.advance(130);
    controller.abort(new Error('stop'));
    await r.result;
    assert.deepEqual(r.disposed, ['503']);
  });

  test('an already aborted signal starts nothing', async () => {
    let calls = 0;
    const reason = new Error('already');
    await assert.rejects(
      hedge(
        () => {
          calls++;
          return Promise.resolve('x');
        },
        { delayMs: 10, signal: AbortSignal.abort(reason) },
      ),
      (e: unknown) => e === reason,
    );
    assert.equal(calls, 0);
  });

  test('delay 0 starts every attempt at once; maxHedges 2 spaces hedges by the delay', async () => {
    const clock = createVirtualClock();
    const parallel = run(
      clock,
      [
        { ms: 30, answer: 'a' },
        { ms: 20, answer: 'b' },
        { ms: 10, answer: 'c' },
      ],
      { delayMs: 0, maxHedges: 2 },
    );
    await clock.runAll();
    assert.deepEqual(await parallel.result, { value: 'c' });
    assert.deepEqual(
      parallel.started.map((s) => s.at),
      [0, 0, 0],
    );

    const spaced = run(
      clock,
      [
        { ms: 1_000, answer: 'a' },
        { ms: 1_000, answer: 'b' },
        { ms: 50, answer: 'c' },
      ],
      { maxHedges: 2 },
    );
    await clock.runAll();
    assert.deepEqual(await spaced.result, { value: 'c' });
    assert.deepEqual(
      spaced.started.map((s) => s.at),
      [0, 100, 200],
    );
  });

  test('a delay function is read once per call; a bad value disables hedging for that call', async () => {
    const clock = createVirtualClock();
    let reads = 0;
    const r = run(
      clock,
      [
        { ms: 1_000, answer: 'a' },
        { ms: 10, answer: 'b' },
      ],
      {
        delayMs: () => {
          reads++;
          return 250;
        },
      },
    );
    await clock.runAll();
    assert.deepEqual(await r.result, { value: 'b' });
    assert.equal(r.started[1]?.at, 250);
    assert.equal(reads, 1);

    const off = run(clock, [{ ms: 1_000, answer: 'a' }], { delayMs: () => Number.NaN });
    await clock.runAll();
    assert.deepEqual(await off.result, { value: 'a' });
    assert.equal(off.started.length, 1);
  });

  test('a disposer that throws does not change the winner', async () => {
    const clock = createVirtualClock();
    const r = run(
      clock,
      [
        { ms: 120, answer: '503' },
        { ms: 100, answer: '200' },
      ],
      {
        isAcceptable: (v) => v === '200',
        dispose: () => {
          throw new Error('drain failed');
        },
      },
    );
    await clock.runAll();
    assert.deepEqual(await r.result, { value: '200' });
  });

  test('a synchronous throw is a failure like a rejection', async () => {
    const clock = createVirtualClock();
    const boom = new Error('sync');
    const result = await hedge(
      () => {
        throw boom;
      },
      { delayMs: 100, clock },
    ).catch((e: unknown) => e);
    assert.equal(result, boom);
    assert.equal(clock.pending(), 0);
  });

  const refused: [Record<string, unknown>, string][] = [
    [{ delayMs: -1 }, 'hedging.delayMs'],
    [{ delayMs: Number.POSITIVE_INFINITY }, 'hedging.delayMs'],
    [{ delayMs: '2s' }, 'hedging.delayMs'],
    [{ delayMs: 10, maxHedges: 11 }, 'hedging.maxHedges'],
    [{ delayMs: 10, maxHedges: 0.5 }, 'hedging.maxHedges'],
  ];
  for (const [options, path] of refused) {
    test(`refuses ${JSON.stringify(options)} naming ${path}`, () => {
      assert.throws(
        () => hedge(() => Promise.resolve(1), options as never),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
    });
  }
});

describe('LatencyWindow', () => {
  test('p95 by nearest rank over the samples held', () => {
    const w = new LatencyWindow({ size: 100, minSamples: 20 });
    for (let ms = 1; ms <= 100; ms++) w.record(ms);
    assert.equal(w.p95(), 95);
    assert.equal(w.quantile(0.5), 50);
    assert.equal(w.quantile(0), 1);
    assert.equal(w.quantile(1), 100);
    assert.equal(w.quantile(1.5), undefined);
  });

  test('no quantile below minSamples', () => {
    const w = new LatencyWindow({ minSamples: 3 });
    w.record(10);
    w.record(20);
    assert.equal(w.p95(), undefined);
    w.record(30);
    assert.equal(w.p95(), 30);
  });

  test('the ring keeps only the most recent samples, and a new sample refreshes the cached answer', () => {
    const w = new LatencyWindow({ size: 4, minSamples: 4 });
    for (const ms of [1_000, 1_000, 1_000, 1_000]) w.record(ms);
    assert.equal(w.p95(), 1_000);
    for (const ms of [5, 6, 7]) w.record(ms);
    assert.equal(w.p95(), 1_000, 'one slow sample is still in the window');
    w.record(8);
    assert.equal(w.p95(), 8);
    assert.equal(w.count, 4);
  });

  test('garbage samples are ignored; clear forgets', () => {
    const w = new LatencyWindow({ size: 2, minSamples: 1 });
    for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) w.record(ms);
    assert.equal(w.count, 0);
    w.record(3);
    assert.equal(w.p95(), 3);
    w.clear();
    assert.equal(w.count, 0);
    assert.equal(w.p95(), undefined);
  });

  test('refuses bad sizes naming the option', () => {
    for (const [options, path] of [
      [{ size: 1 }, 'hedging.window.size'],
      [{ size: 10_001 }, 'hedging.window.size'],
      [{ size: 10, minSamples: 11 }, 'hedging.window.minSamples'],
      [{ minSamples: 0 }, 'hedging.window.minSamples'],
    ] as const) {
      assert.throws(
        () => new LatencyWindow(options),
        (error: unknown) => isBulwarkError(error, 'INVALID_OPTIONS') && error.path === path,
      );
    }
  });
});
