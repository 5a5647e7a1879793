import { test, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../lab/cli.js';
import { loadScenario } from '../../lab/engine/files.js';
import { summarize } from '../../lab/engine/metrics.js';
import { runScenario } from '../../lab/engine/run.js';
import { parseScenario } from '../../lab/engine/parse-scenario.js';
import { PLAIN_CLIENT, withDuration } from '../../lab/engine/scenario.js';
import { createProgressBar } from '../../lab/report/terminal.js';
import { chromiumMissing, dumpDom, seriesIn } from './chromium.js';

class Capture {
  text = '';
  readonly isTTY: boolean;
  readonly columns = 120;
  constructor(tty = false) {
    this.isTTY = tty;
  }
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

async function cli(args: string[], cwd?: string): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(args, { stdout, stderr, ...(cwd === undefined ? {} : { cwd }) });
  return { code, out: stdout.text, err: stderr.text };
}

describe('bulwark lab, end to end against bulwark', () => {
  test('outage: the plain client fails with ECONNREFUSED while the port is closed, and recovers after', async () => {
    const scenario = withDuration({ ...(await loadScenario('outage')), clients: [PLAIN_CLIENT] }, 3000);
    const result = summarize(await runScenario(scenario));
    const plain = result.configs[0]!;
    const errors = plain.totals.errors;
    assert.ok(
      Object.keys(errors).every((code) => code.startsWith('NETWORK ')),
      JSON.stringify(errors),
    );
    // Calls in flight when the port closes are reset; every later one is refused.
    assert.ok((errors['NETWORK ECONNREFUSED'] ?? 0) > 10, JSON.stringify(errors));
    const during = plain.buckets.filter((b) => b.t >= 1300 && b.t + scenario.bucket <= 1900 && b.calls > 0);
    const after = plain.buckets.filter((b) => b.t >= 2400 && b.calls > 0);
    assert.ok(during.length > 0 && after.length > 0);
    for (const b of during) assert.equal(b.successRate, 0, `bucket at ${b.t} ms`);
    for (const b of after) assert.equal(b.successRate, 1, `bucket at ${b.t} ms`);
    for (const b of during)
      assert.equal(b.upstreamReceived, 0, `a refused request reached the upstream at ${b.t} ms`);
  });

  test('deadline: propagating the deadline saves service B the work nobody waits for', async () => {
    const scenario = withDuration(await loadScenario('deadline'), 3000);
    const result = summarize(await runScenario(scenario));
    const [plain, defaults] = result.configs;
    assert.equal(plain!.totals.downstream!.skipped, 0, 'without the header B cannot know');
    assert.ok(plain!.totals.downstream!.wastedMs > 0);
    assert.ok(defaults!.totals.downstream!.skipped > 0, 'B refused work that could not finish in time');
    assert.ok(defaults!.totals.downstream!.wastedMs < plain!.totals.downstream!.wastedMs);
  });

  test('a closed loop keeps exactly its callers busy, one call each at a time', async () => {
    const scenario = parseScenario(
      { name: 'loop', duration: 1, load: { concurrency: 3 }, upstream: { latency: 20 }, clients: ['plain'] },
      'loop',
    );
    const result = summarize(await runScenario(scenario));
    const plain = result.configs[0]!;
    assert.ok(plain.totals.calls >= 10, `${plain.totals.calls} calls`);
    assert.equal(plain.totals.ok, plain.totals.calls);
    assert.equal(plain.totals.upstreamReceived, plain.totals.calls);
    assert.ok(plain.buckets.every((b) => b.inflight === null || b.inflight <= 3));
    assert.ok(plain.buckets.some((b) => b.inflight === 3));
  });

  test('the CLI runs a scenario, prints a summary and writes a report Chromium draws', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    const { code, out, err } = await cli(['lab', 'outage', '--duration', '2', '--out', 'reports'], dir);
    assert.equal(err, '');
    assert.equal(code, 0);
    assert.ok(!out.includes('\r'), 'no progress bar when not a terminal');
    assert.match(out, /^outage: 2 s, 50 calls\/s, comparing plain, defaults\n/);
    assert.match(
      out,
      /configuration\s+success\s+goodput\/s\s+p50\s+p99\s+p99 ok\s+attempts\/call\s+upstream req/,
    );
    // The verdict comes before the table: the first thing a reader sees after the header.
    assert.match(out, /\n {2}Verdict defaults vs plain: (PASS|FAIL)[^\n]*\n {2}configuration/);
    assert.match(out, /outage \(refused\) 0\.7–1\.3 s: time to detect plain no breaker, defaults /);
    const path = /Report: (reports\/outage-[\dT-]+\.html)\n$/.exec(out)?.[1];
    assert.ok(path !== undefined, out);
    const html = await readFile(join(dir, path), 'utf8');
    assert.ok(!/(src|href)="https?:/.test(html), 'the report loads nothing from the network');
    const skip = chromiumMissing();
    if (skip !== undefined) return;
    const charts = seriesIn(await dumpDom(join(dir, path)));
    for (const name of ['plain', 'defaults'])
      assert.match(charts.get('chart-success')!.get(name)!, /^M[\d.,]+L/, name);
  });

  test('--config adds the user options next to plain and defaults', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    await writeFile(join(dir, 'checkout.json'), JSON.stringify({ retry: { maxRetries: 1 } }));
    const { code, out } = await cli(
      ['lab', 'flaky', '--config', 'checkout.json', '--duration', '1', '--out', '.'],
      dir,
    );
    assert.equal(code, 0, out);
    assert.match(out, /comparing plain, defaults, checkout\n/);
    assert.match(out, /\n {2}checkout +\d/);
  });
});

describe('verdicts for CI: --runs, --json, --check', () => {
  test('a configuration that loses every call fails criterion 1 in each run; --check exits 3', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    // Every call is refused before it is sent: success 0 % against plain's near 100 %.
    await writeFile(join(dir, 'blocked.json'), JSON.stringify({ allowedHosts: ['api.example.com'] }));
    await writeFile(
      join(dir, 'calm.json'),
      JSON.stringify({ name: 'calm', duration: 1, seed: 5, load: { rate: 30 }, upstream: { latency: 2 } }),
    );
    const { code, out, err } = await cli(
      ['lab', './calm.json', '--config', 'blocked.json', '--runs', '2', '--json', 'ci/lab.json', '--check'],
      dir,
    );
    assert.equal(err, '');
    assert.equal(code, 3, out);
    assert.match(out, /^run 1\/2, seed 5: calm: 1 s/m);
    assert.match(out, /^run 2\/2, seed 6: calm: 1 s/m);
    assert.match(
      out,
      /Verdict +blocked vs plain: FAIL: fails 1 success ≥ plain − 1 pt|blocked vs plain: FAIL: fails 1 success/,
    );
    assert.match(out, /Spread over 2 runs \(seeds 5, 6\):/);
    assert.match(out, /verdict blocked vs plain: passed 0 of 2 runs/);
    assert.match(out, /Verdicts, blocked vs plain:\n {2}calm +FAIL 0\/2 runs +success 0\.0% vs plain/);
    const json = JSON.parse(await readFile(join(dir, 'ci/lab.json'), 'utf8')) as {
      pass: boolean;
      checked: string[];
      scenarios: {
        name: string;
        runs: {
          seed: number;
          totals: Record<string, { successRate: number }>;
          verdicts: { config: string; outcome: string }[];
        }[];
      }[];
    };
    assert.equal(json.pass, false);
    assert.deepEqual(json.checked, ['defaults', 'blocked']);
    const [calm] = json.scenarios;
    assert.equal(calm!.name, 'calm');
    assert.deepEqual(
      calm!.runs.map((r) => r.seed),
      [5, 6],
    );
    for (const r of calm!.runs) {
      assert.equal(r.totals['blocked']!.successRate, 0);
      assert.equal(r.verdicts.find((v) => v.config === 'blocked')!.outcome, 'fail');
    }
  });

  test('--runs outside 1 to 100 is refused', async () => {
    const bad = await cli(['lab', 'outage', '--runs', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--runs is "0", expected an integer from 1 to 100/);
  });
});

describe('bulwark CLI input errors', () => {
  const cases: [string[], RegExp][] = [
    [['lab', 'outage', '--speed', '3'], /unknown option --speed/],
    [
      ['lab', 'nope'],
      /no built-in scenario "nope" \(built-in: blackhole, brownout, deadline, flaky, outage, overload, resets, slow, throttle, warm-outage/,
    ],
    [['lab', 'outage', '--duration', 'ten'], /--duration is "ten", expected seconds from 1 to 3600/],
    [['lab', 'outage', '--seed', '-1'], /--seed is "-1"/],
    [['lab', 'outage', '--config'], /--config needs a value/],
    [['lab', 'a', 'b'], /one scenario at a time/],
    [['demo', '--duration', '2'], /demo takes only --out/],
    [['demo', '--seed', '7'], /demo takes only --out/],
    [['bench'], /unknown command "bench"/],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const { code, err } = await cli(args);
      assert.equal(code, 2);
      assert.match(err, message);
      assert.ok(!err.includes('    at '), 'a message, not a stack trace');
    });
  }

  test('a scenario file with a mistake names the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    await writeFile(join(dir, 'mine.json'), JSON.stringify({ name: 'mine', duration: 5, load: { rate: 0 } }));
    const { code, err } = await cli(['lab', './mine.json'], dir);
    assert.equal(code, 2);
    assert.match(err, /^\.\/mine\.json: `load\.rate` is 0, expected calls per second/);
  });

  test('options createClient refuses are reported with the configuration name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-cli-'));
    await writeFile(join(dir, 'broken.json'), JSON.stringify({ timeout: { attempt: -1 } }));
    const { code, err } = await cli(['lab', 'outage', '--config', 'broken.json', '--duration', '1'], dir);
    assert.equal(code, 2);
    assert.match(err, /^Configuration "broken": .*timeout\.attempt/);
  });

  test('no command prints the usage; `lab` alone lists the scenarios with their descriptions', async () => {
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(
      none.out,
      /bulwark lab \[scenario \| all\] \[--config file\] \[--duration s\] \[--out dir\]/,
    );
    const list = await cli(['lab']);
    assert.equal(list.code, 0);
    assert.match(list.out, /\n {2}outage +The API goes down/);
    assert.match(list.out, /\n {2}throttle +/);
  });

  test('bin/bulwark.js runs the built CLI, or says to build it', async () => {
    const bin = resolve('bin/bulwark.js');
    const built = existsSync(resolve('dist/lab/cli.js'));
    const result = await promisify(execFile)(process.execPath, [bin, '--help']).then(
      (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
      (e: unknown) => {
        const failed = e as { code: number; stdout: string; stderr: string };
        return { code: failed.code, out: failed.stdout, err: failed.stderr };
      },
    );
    if (built) {
      assert.equal(result.code, 0);
      assert.match(result.out, /Usage:/);
    } else {
      assert.equal(result.code, 1);
      assert.match(result.err, /Run `npm run build` first/);
    }
  });
});

describe('progress bar', () => {
  const progress = {
    elapsed: 6000,
    duration: 12_000,
    phase: 'outage (refused)',
    configs: [{ name: 'plain', done: 200, ok: 100 }],
  };

  test('on a terminal it redraws one line in place', () => {
    const out = new Capture(true);
    const bar = createProgressBar(out, 'outage');
    bar.update(progress);
    bar.done();
    assert.ok(out.text.startsWith('\r\x1b[2K'));
    assert.match(out.text, /outage .*6\.0\/12 s {2}plain 50% ok {2}.*outage \(refused\)/);
    assert.ok(out.text.endsWith('\r\x1b[2K'));
    assert.ok(!out.text.includes('\n'));
  });

  test('elsewhere (CI, a pipe) it writes nothing', () => {
    const out = new Capture(false);
    const bar = createProgressBar(out, 'outage');
    bar.update(progress);
    bar.done();
    assert.equal(out.text, '');
  });
});
