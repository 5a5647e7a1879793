import { test, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BreakerState } from '../../lab/engine/client.js';
import type { CallRecord } from '../../lab/engine/load.js';
import { percentile, summarize, type LabResult } from '../../lab/engine/metrics.js';
import { parseScenario } from '../../lab/engine/parse-scenario.js';
import type { ConfigRun, LabRun } from '../../lab/engine/run.js';
import { renderHtmlReport } from '../../lab/report/html.js';
import { lineChart } from '../../lab/report/svg.js';
import { chromiumMissing, countColor, dumpDom, screenshot, seriesIn } from './chromium.js';

const scenario = parseScenario(
  {
    name: 'synthetic',
    description: 'Down from 1 s to 2 s.',
    duration: 4,
    bucket: 500,
    load: { rate: 20 },
    upstream: { phases: [{ fault: 'outage', from: 1, to: 2 }] },
    clients: ['plain', { name: 'tuned', options: { concurrency: { algorithm: 'aimd' } } }],
  },
  'synthetic',
);

/** A call every 50 ms; during the outage the plain client fails, the tuned one fails fast on an open breaker. */
function records(tuned: boolean): ConfigRun {
  const calls: CallRecord[] = [];
  const received: ConfigRun['received'][number][] = [];
  for (let i = 0; i < 80; i++) {
    const start = i * 50;
    const down = start >= 1000 && start < 2000;
    const open = tuned && start >= 1200 && start < 2000;
    const end = start + (down ? (open ? 0.2 : 2) : 10 + (i % 5));
    calls.push({
      id: i,
      start,
      end,
      ok: !down,
      outcome: down ? (open ? 'CIRCUIT_OPEN' : 'NETWORK ECONNREFUSED') : '200',
      attempts: open ? 0 : down && tuned ? 2 : 1,
      cutOff: false,
    });
    if (!down)
      received.push({ at: start + 1, done: i === 5 ? end + 100 : end - 1, outcome: 200, call: String(i) });
  }
  calls.push({ id: 99, start: 3990, end: 6000, ok: false, outcome: 'ABORTED', attempts: 1, cutOff: true });
  const samples = Array.from({ length: 40 }, (_, k) => {
    const at = k * 100;
    const state: BreakerState =
      at >= 1200 && at < 2000 ? 'open' : at >= 2000 && at < 2100 ? 'half-open' : 'closed';
    return {
      at,
      inflight: k % 3,
      breakers: new Map(tuned ? [['http://127.0.0.1:1', state]] : []),
      limit: tuned ? 20 - (k % 4) : undefined,
      limiterInflight: tuned ? 1 : undefined,
    };
  });
  return {
    config: scenario.clients[tuned ? 1 : 0]!,
    calls,
    samples,
    waits: tuned
      ? [
          { at: 3100, ms: 40 },
          { at: 5000, ms: 900 },
        ]
      : [],
    transitions: tuned
      ? [
          {
            at: 1200,
            key: 'http://127.0.0.1:1',
            from: 'closed',
            to: 'open',
            reason: 'failures in the window',
          },
          {
            at: 2000,
            key: 'http://127.0.0.1:1',
            from: 'open',
            to: 'half-open',
            reason: 'open duration elapsed',
          },
          { at: 2100, key: 'http://127.0.0.1:1', from: 'half-open', to: 'closed', reason: 'probes passed' },
        ]
      : [],
    received,
    downstreamWork: [],
  };
}

const run: LabRun = {
  scenario,
  startedAt: new Date('2026-01-02T03:04:05Z'),
  configs: [records(false), records(true)],
  loopDelay: { p50: 1, p99: 3, max: 8 },
};

describe('metrics', () => {
  const result = summarize(run);
  const [plain, tuned] = result.configs;

  test('buckets: success rate per bucket of finish time, worst breaker state, last limit', () => {
    assert.equal(plain!.buckets.length, 8);
    assert.deepEqual(
      plain!.buckets.map((b) => b.successRate),
      [1, 1, 0, 0, 1, 1, 1, 1],
    );
    assert.deepEqual(
      tuned!.buckets.map((b) => b.breakers['http://127.0.0.1:1']),
      ['closed', 'closed', 'open', 'open', 'half-open', 'closed', 'closed', 'closed'],
    );
    assert.equal(plain!.buckets[0]!.limit, null);
    assert.equal(tuned!.buckets[1]!.limit, 19, 'the last sample in the bucket (at 900 ms)');
    assert.equal(tuned!.buckets[2]!.attemptsPerCall, (4 * 2 + 6 * 0) / 10);
    assert.equal(tuned!.buckets[6]!.rateLimitWaits, 1);
    assert.equal(plain!.buckets[2]!.upstreamReceived, 0);
    assert.equal(plain!.buckets[0]!.upstreamReceived, 10);
  });

  test('totals: goodput, wasted attempts, failures by outcome, late responses, cut-off calls', () => {
    // The call still running when the grace period ended counts, as a failure.
    assert.equal(plain!.totals.calls, 81);
    assert.equal(plain!.totals.ok, 60);
    assert.equal(plain!.totals.successRate, 60 / 81);
    assert.equal(plain!.totals.goodput, 15);
    assert.equal(plain!.totals.wastedAttempts, 21);
    assert.deepEqual(plain!.totals.errors, { 'NETWORK ECONNREFUSED': 20, CUT_OFF: 1 });
    assert.deepEqual(tuned!.totals.errors, { 'NETWORK ECONNREFUSED': 4, CIRCUIT_OPEN: 16, CUT_OFF: 1 });
    assert.equal(tuned!.totals.attempts, 60 + 8 + 1);
    assert.equal(plain!.totals.lateResponses, 1);
    assert.equal(plain!.totals.cutOff, 1);
    assert.equal(tuned!.totals.rateLimitWaitMs, 940);
  });

  test('what happens in the grace period after the run is not drawn in the last bucket', () => {
    assert.equal(tuned!.buckets.at(-1)!.rateLimitWaits, 0, 'the wait at 5 s is after the 4 s run');
    assert.equal(tuned!.buckets[6]!.rateLimitWaits, 1);
  });

  test('goodput counts only the successes within the run', () => {
    const late: LabRun = {
      ...run,
      configs: [
        {
          ...records(false),
          calls: [
            { id: 1, start: 100, end: 200, ok: true, outcome: '200', attempts: 1, cutOff: false },
            { id: 2, start: 3900, end: 4500, ok: true, outcome: '200', attempts: 1, cutOff: false },
          ],
        },
      ],
    };
    const t = summarize(late).configs[0]!.totals;
    assert.equal(t.successRate, 1);
    assert.equal(t.goodput, 0.25, 'one success in 4 s; the one that ended at 4.5 s is in the grace period');
  });

  test('latency of successful calls leaves out the fast failures', () => {
    // The tuned client's open breaker fails calls in 0.2 ms; its successes take 10 to 14 ms.
    assert.equal(tuned!.totals.p99ok, 14, 'the slowest success');
    assert.equal(tuned!.totals.p99, 2010, 'the call cut off after the run');
    assert.equal(tuned!.buckets[0]!.p50ok, 12);
    assert.equal(tuned!.buckets[2]!.p50ok, null, 'no call succeeded in the outage');
    assert.ok(tuned!.buckets[2]!.p50! < 1, 'while all calls there failed fast');
  });

  test('verdicts, time to detect and to recover, references and offered load', () => {
    assert.deepEqual(
      result.verdicts.map((v) => [v.config, v.outcome]),
      [['tuned', 'pass']],
    );
    const outage = result.outages[0]!;
    assert.deepEqual([outage.from, outage.to], [1000, 2000]);
    const [p, t] = outage.configs;
    assert.deepEqual([p!.hasBreaker, p!.detectMs, p!.recoverMs], [false, null, 0]);
    assert.deepEqual([t!.hasBreaker, t!.detectMs, t!.recoverMs], [true, 200, 0]);
    assert.deepEqual(result.offered!.length, 8);
    assert.ok(
      result.offered!.every((n) => n >= 2 && n <= 25),
      result.offered!.join(),
    );
    assert.deepEqual(result.references, []);
  });

  test('percentile is nearest-rank', () => {
    assert.equal(percentile([], 0.5), null);
    assert.equal(percentile([1, 2, 3, 4], 0.5), 2);
    assert.equal(percentile([1, 2, 3, 4], 0.99), 4);
    assert.equal(percentile([7], 0.01), 7);
  });
});

describe('lineChart', () => {
  test('a null value breaks the line; a lone point gets a dot; names are escaped', () => {
    const svg = lineChart({
      id: 'c',
      title: 'T',
      xMax: 1000,
      yUnit: '%',
      yMax: 100,
      series: [
        {
          name: 'a<b>',
          color: '#123456',
          points: [
            [0, 10],
            [100, 20],
            [200, null],
            [300, 30],
            [400, null],
          ],
        },
      ],
    });
    const d = /<path d="([^"]*)"/.exec(svg)![1]!;
    assert.equal(d.split('M').length - 1, 2, d);
    assert.equal((svg.match(/<circle /g) ?? []).length, 1);
    assert.ok(svg.includes('data-series="a&#60;b&#62;"'));
    assert.ok(!svg.includes('a<b>'));
  });

  test('a log axis has a tick per power of ten', () => {
    const svg = lineChart({
      id: 'l',
      title: 'L',
      xMax: 1000,
      yUnit: 'ms',
      log: true,
      series: [
        {
          name: 's',
          color: '#000000',
          points: [
            [0, 3],
            [500, 2500],
          ],
        },
      ],
    });
    const ticks = [...svg.matchAll(/class="tick"[^>]*text-anchor="end">([^<]+)</g)].map((m) => m[1]);
    assert.deepEqual(ticks, ['1 ms', '10 ms', '100 ms', '1 s', '10 s']);
  });
});

describe('HTML report in headless Chromium', () => {
  const skip = chromiumMissing();
  const result: LabResult = summarize(run);

  test('every chart draws a non-empty line for each configuration', { skip }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-report-'));
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtmlReport(result));
    const charts = seriesIn(await dumpDom(file));
    assert.deepEqual(
      [...charts.keys()],
      [
        'chart-success',
        'chart-latency',
        'chart-latency-ok',
        'chart-upstream',
        'chart-attempts',
        'chart-concurrency',
        'chart-rate-limit',
      ],
    );
    const expected: Record<string, string[]> = {
      'chart-success': ['plain', 'tuned'],
      'chart-latency': ['plain p50', 'tuned p50', 'plain p99', 'tuned p99'],
      'chart-latency-ok': ['plain p50', 'tuned p50', 'plain p99', 'tuned p99'],
      'chart-upstream': ['offered (calls/s)', 'plain', 'tuned'],
      'chart-attempts': ['plain', 'tuned'],
      'chart-concurrency': ['plain in flight', 'tuned in flight', 'tuned limit'],
      'chart-rate-limit': ['plain', 'tuned'],
    };
    for (const [chart, names] of Object.entries(expected)) {
      const series = charts.get(chart)!;
      assert.deepEqual([...series.keys()], names, chart);
      for (const [name, d] of series)
        assert.match(d, /^M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)+/, `${chart} / ${name}: d="${d}"`);
    }
  });

  test('the screenshot shows both lines and the open breaker band', { skip }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-report-'));
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtmlReport(result));
    const png = await screenshot(file, 1000, 2400);
    assert.equal(png.width, 1000);
    assert.ok(countColor(png, '#2563eb', 30) > 500, 'blue (tuned) lines drawn');
    assert.ok(countColor(png, '#6b7280', 20) > 500, 'grey (plain) lines drawn');
    assert.ok(countColor(png, '#ef4444', 20) > 200, 'red open-breaker cells drawn');
  });
});
