import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/retry-keeps-alive.ts', import.meta.url));

test('a script awaiting a retry backoff does not exit early, and exits by itself after close()', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(run.signal, null, 'it was not killed by the timeout');
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /status 200 attempts 2/);
});
