/**
 * What 100,000 idle keys cost and that the idle sweep gives it all back with no later call,
 * measured on the heap after full GCs in a child process run with --expose-gc.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/idle-memory.ts', import.meta.url));

interface Phase {
  size: number;
  bytesPerKey: number;
  left: number;
  sweptDelta: number;
}

interface Report {
  keys: number;
  breakers: Phase;
  afterTrip: { bytesPerKey: number };
  buckets: Phase;
  backgroundTimers: number;
}

test('100k idle breakers cost at most 300 bytes a key, and the sweep frees them and 100k buckets back to the baseline heap', () => {
  const run = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fixture], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(run.signal, null, 'the fixture was not killed by the timeout');
  assert.equal(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Report;
  const detail = JSON.stringify(r);
  assert.equal(r.breakers.size, r.keys, detail);
  assert.ok(r.breakers.bytesPerKey <= 300, `idle breaker: ${r.breakers.bytesPerKey} bytes a key`);
  assert.ok(r.afterTrip.bytesPerKey <= 300, `after a trip: ${r.afterTrip.bytesPerKey} bytes a key`);
  assert.ok(r.buckets.bytesPerKey <= 120, `bucket: ${r.buckets.bytesPerKey} bytes a key`);
  // Back to the baseline: what is left is the map's empty table and the like, not a byte a key.
  for (const phase of [r.breakers, r.buckets]) {
    assert.equal(phase.left, 0, detail);
    assert.ok(phase.sweptDelta < r.keys * 10, `left on the heap after the sweep: ${detail}`);
  }
  assert.equal(r.backgroundTimers, 0, 'no housekeeping timer once the maps are empty');
});
