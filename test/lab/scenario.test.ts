import { test, describe } from 'node:test';
import { strict as assert } from 'node:assert';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinScenarios, LabInputError, loadClientConfig, loadScenario } from '../../lab/engine/files.js';
import { parseScenario, ScenarioError } from '../../lab/engine/parse-scenario.js';
import { chooseBucket, phaseAt, renderText, withDuration } from '../../lab/engine/scenario.js';

const minimal = { name: 'mine', duration: 10, load: { rate: 20 } };

function refusal(doc: unknown): ScenarioError {
  try {
    parseScenario(doc, 'mine.json');
  } catch (error) {
    assert.ok(error instanceof ScenarioError, `expected a ScenarioError, got ${String(error)}`);
    assert.ok(error.message.startsWith('mine.json: '), error.message);
    return error;
  }
  assert.fail('the scenario was accepted');
}

describe('scenario validation names the field, the value and what is allowed', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['a document that is not an object', [], '', /expected an object/],
    ['a misspelt top-level field', { ...minimal, duraton: 5 }, 'duraton', /not a known field.*duration/],
    ['a missing name', { duration: 10, load: { rate: 1 } }, 'name', /is missing, expected a name/],
    ['a zero duration', { ...minimal, duration: 0 }, 'duration', /is 0, expected a number from 1 to 3600/],
    ['a duration given as a string', { ...minimal, duration: '10' }, 'duration', /is "10"/],
    ['no load', { name: 'x', duration: 10 }, 'load', /expected an object/],
    ['a negative rate', { ...minimal, load: { rate: -5 } }, 'load.rate', /is -5, expected calls per second/],
    [
      'both rate and concurrency',
      { ...minimal, load: { rate: 5, concurrency: 2 } },
      'load',
      /both `rate` and `concurrency`/,
    ],
    [
      'a fractional concurrency',
      { ...minimal, load: { concurrency: 2.5 } },
      'load.concurrency',
      /an integer from 1 to 1000/,
    ],
    ['a bad method', { ...minimal, request: { method: 'FETCH' } }, 'request.method', /an HTTP method/],
    ['a path without a slash', { ...minimal, request: { path: 'x' } }, 'request.path', /starting with "\/"/],
    [
      'an unknown fault',
      { ...minimal, upstream: { phases: [{ fault: 'fire' }] } },
      'upstream.phases[0].fault',
      /one of "healthy", "outage"/,
    ],
    [
      'a rate above 1',
      { ...minimal, upstream: { phases: [{ fault: 'flaky', errorRate: 1.5 }] } },
      'upstream.phases[0].errorRate',
      /is 1.5, expected a number from 0 to 1/,
    ],
    [
      'rates that add up past 1',
      { ...minimal, upstream: { phases: [{ fault: 'flaky', errorRate: 0.7, resetRate: 0.5 }] } },
      'upstream.phases[0].resetRate',
      /errorRate \+ resetRate ≤ 1/,
    ],
    [
      'a field of another fault',
      { ...minimal, upstream: { phases: [{ fault: 'outage', quota: 3 }] } },
      'upstream.phases[0].quota',
      /not a known field/,
    ],
    [
      'a phase past the end',
      { ...minimal, upstream: { phases: [{ fault: 'outage', from: 2, to: 11 }] } },
      'upstream.phases[0].to',
      /is 11, expected a number from 0 to 10/,
    ],
    [
      'a phase ending before it starts',
      { ...minimal, upstream: { phases: [{ fault: 'outage', from: 5, to: 3 }] } },
      'upstream.phases[0].to',
      /a time after `from` \(5 s\)/,
    ],
    [
      'overlapping phases',
      {
        ...minimal,
        upstream: {
          phases: [
            { fault: 'outage', from: 1, to: 5 },
            { fault: 'slow', from: 4, startLatency: 1, endLatency: 2 },
          ],
        },
      },
      'upstream.phases[1].from',
      /overlaps the outage phase that runs until 5 s/,
    ],
    [
      'an overload without capacity',
      { ...minimal, upstream: { phases: [{ fault: 'overload', serviceTime: 5, queue: 1 }] } },
      'upstream.phases[0].capacity',
      /an integer from 1/,
    ],
    [
      'a latency range upside down',
      { ...minimal, upstream: { latency: [50, 10] } },
      'upstream.latency',
      /\[min, max\]/,
    ],
    ['an unknown preset', { ...minimal, clients: ['fast'] }, 'clients[0]', /"plain", "defaults"/],
    ['no clients', { ...minimal, clients: [] }, 'clients', /1 to 8 configurations/],
    [
      'a duplicate name',
      { ...minimal, clients: ['plain', { name: 'plain' }] },
      'clients[1].name',
      /not used by another/,
    ],
    [
      'options that are not an object',
      { ...minimal, clients: [{ name: 'a', options: 3 }] },
      'clients[0].options',
      /createClient options/,
    ],
    ['too fine a bucket', { ...minimal, duration: 3600, bucket: 100 }, 'bucket', /at least 1800 ms/],
  ];
  for (const [what, doc, field, message] of cases) {
    test(what, () => {
      const error = refusal(doc);
      assert.equal(error.field, field === '' ? '' : field);
      assert.match(error.message, message);
      if (field !== '') assert.ok(error.message.includes(`\`${field}\``), error.message);
    });
  }
});

describe('parseScenario', () => {
  test('fills defaults: GET /, plain and defaults compared, healthy upstream, a bucket that fits', () => {
    const s = parseScenario(minimal, 'mine.json');
    assert.deepEqual(s.request, { method: 'GET', path: '/' });
    assert.deepEqual(
      s.clients.map((c) => c.name),
      ['plain', 'defaults'],
    );
    assert.deepEqual(s.clients[0]!.options, { retry: false, circuitBreaker: false, deadline: false });
    assert.equal(s.duration, 10_000);
    assert.equal(s.bucket, 250);
    assert.deepEqual(s.load, { kind: 'rate', from: 20, to: 20 });
    assert.equal(phaseAt(s, 5000).fault, 'healthy');
  });

  test('keeps phases in time order, in milliseconds, with gaps healthy', () => {
    const s = parseScenario(
      {
        ...minimal,
        upstream: {
          phases: [
            { fault: 'throttle', from: 6, quota: 5 },
            { fault: 'outage', from: 1, to: 2, mode: 'reset' },
          ],
        },
      },
      'x',
    );
    assert.deepEqual(
      s.phases.map((p) => [p.fault, p.from, p.to]),
      [
        ['outage', 1000, 2000],
        ['throttle', 6000, 10_000],
      ],
    );
    assert.equal(phaseAt(s, 1500).fault, 'outage');
    assert.equal(phaseAt(s, 3000).fault, 'healthy');
    assert.equal(phaseAt(s, 9999).fault, 'throttle');
  });

  test('every built-in scenario is valid, has its fault and leaves time to see the recovery', async () => {
    const names = builtinScenarios();
    const faults: Record<string, string> = {
      blackhole: 'blackhole',
      brownout: 'flaky',
      deadline: 'deadline',
      flaky: 'flaky',
      outage: 'outage',
      overload: 'overload',
      resets: 'resets',
      slow: 'slow',
      throttle: 'throttle',
      'warm-outage': 'outage',
    };
    assert.deepEqual(names, Object.keys(faults));
    for (const name of names) {
      const s = await loadScenario(name);
      assert.equal(s.name, name);
      assert.ok(s.duration <= 45_000, name);
      assert.ok(s.description.length > 20, name);
      assert.ok(
        s.phases.some((p) => p.fault === faults[name]),
        name,
      );
    }
  });

  test('the warm outage starts once a 30 s breaker window is full; the black hole leaves 10 s after it', async () => {
    const warm = await loadScenario('warm-outage');
    assert.ok(warm.phases[0]!.from >= 30_000, `outage at ${warm.phases[0]!.from} ms`);
    // A request sent at the end of the black hole waits out a 10 s attempt timeout before the run ends.
    const hole = await loadScenario('blackhole');
    assert.ok(hole.duration - hole.phases[0]!.to >= 10_000);
    const brown = await loadScenario('brownout');
    const phase = brown.phases[0]!;
    assert.ok(phase.fault === 'flaky' && phase.status === 500 && phase.errorRate < 0.5);
  });

  test('placeholders in the description and notes follow --duration', () => {
    const s = parseScenario(
      {
        ...minimal,
        duration: 12,
        description: 'Down {length:0} s from {from:0} s to {to:0} s of {duration} s.',
        upstream: { phases: [{ fault: 'outage', from: 4, to: 8 }] },
      },
      'x',
    );
    assert.equal(renderText(s, s.description), 'Down 4 s from 4 s to 8 s of 12 s.');
    const short = withDuration(s, 3000);
    assert.equal(renderText(short, short.description), 'Down 1 s from 1 s to 2 s of 3 s.');
    const bad = refusal({ ...minimal, notes: 'at {from:1} s', upstream: { phases: [{ fault: 'outage' }] } });
    assert.equal(bad.field, 'notes');
    assert.match(bad.message, /\{from:1\} names no phase \(phases are numbered 0 to 0/);
  });

  test('blackhole and resets phases: fields, defaults and refusals', () => {
    const s = parseScenario(
      {
        ...minimal,
        upstream: {
          phases: [
            { fault: 'blackhole', from: 1, to: 2 },
            { fault: 'resets', from: 3, to: 6, every: 0.25 },
          ],
        },
      },
      'x',
    );
    assert.deepEqual(s.phases[0], { fault: 'blackhole', from: 1000, to: 2000 });
    assert.deepEqual(s.phases[1], { fault: 'resets', from: 3000, to: 6000, every: 250, latency: [2, 8] });
    const e = refusal({ ...minimal, upstream: { phases: [{ fault: 'resets', every: 0 }] } });
    assert.equal(e.field, 'upstream.phases[0].every');
    assert.match(e.message, /is 0, expected a number from 0.05 to 3600/);
    assert.equal(
      refusal({ ...minimal, upstream: { phases: [{ fault: 'blackhole', latency: 3 }] } }).field,
      'upstream.phases[0].latency',
    );
  });

  test('withDuration scales phases to the new length and picks a bucket again', () => {
    const s = parseScenario(
      { ...minimal, duration: 12, upstream: { phases: [{ fault: 'outage', from: 4, to: 8 }] } },
      'x',
    );
    const short = withDuration(s, 3000);
    assert.deepEqual([short.phases[0]!.from, short.phases[0]!.to], [1000, 2000]);
    assert.equal(short.bucket, chooseBucket(3000));
    assert.equal(chooseBucket(3000), 100);
    assert.equal(chooseBucket(60_000), 1000);
  });
});

describe('loading files', () => {
  test('an unknown scenario name lists the built-in ones', async () => {
    await assert.rejects(
      loadScenario('nope'),
      (e: unknown) =>
        e instanceof LabInputError && /built-in: blackhole, brownout, deadline, flaky/.test(e.message),
    );
  });

  test('a scenario file with bad JSON says so, with the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-'));
    const file = join(dir, 'bad.json');
    await writeFile(file, '{ "name": ');
    await assert.rejects(
      loadScenario(file),
      (e: unknown) =>
        e instanceof LabInputError && e.message.includes(file) && /not valid JSON/.test(e.message),
    );
  });

  test('--config: JSON options are named after the file; a module default export works too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-'));
    await writeFile(
      join(dir, 'github.json'),
      JSON.stringify({ name: 'github', baseUrl: 'https://api.github.com', retry: { maxRetries: 1 } }),
    );
    const json = await loadClientConfig(join(dir, 'github.json'));
    assert.equal(json.name, 'github');
    assert.deepEqual(json.options['retry'], { maxRetries: 1 });
    await writeFile(join(dir, 'tuned.mjs'), 'export default { circuitBreaker: { openDuration: 1000 } };');
    const mod = await loadClientConfig(join(dir, 'tuned.mjs'));
    assert.equal(mod.name, 'tuned');
    assert.deepEqual(mod.options, { circuitBreaker: { openDuration: 1000 } });
    await writeFile(join(dir, 'defaults.json'), '{}');
    assert.equal((await loadClientConfig(join(dir, 'defaults.json'))).name, 'yours-defaults');
  });

  test('--config refuses a missing file, a module without export and a non-object', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lab-'));
    await assert.rejects(loadClientConfig(join(dir, 'missing.json')), /no file at/);
    await writeFile(join(dir, 'empty.mjs'), 'export const x = 1;');
    await assert.rejects(loadClientConfig(join(dir, 'empty.mjs')), /`default export` is missing/);
    await writeFile(join(dir, 'list.json'), '[1]');
    await assert.rejects(
      loadClientConfig(join(dir, 'list.json')),
      /`options` is an array, expected an object of createClient options/,
    );
    await writeFile(join(dir, 'opts.yaml'), 'a: 1');
    await assert.rejects(loadClientConfig(join(dir, 'opts.yaml')), /not \.json, \.js, \.mjs or \.ts/);
  });
});

test('the scenario example in docs/lab.md is valid', async () => {
  const doc = await readFile(new URL('../../docs/lab.md', import.meta.url), 'utf8');
  const example = /```json\n([^]*?)```/.exec(doc)![1]!;
  const s = parseScenario(JSON.parse(example), 'docs/lab.md');
  assert.equal(s.name, 'checkout-outage');
  assert.deepEqual(
    s.phases.map((p) => p.fault),
    ['outage', 'slow'],
  );
});
