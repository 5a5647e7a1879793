/**
 * `npm test` on a machine without redis-server or Chromium: it installs them when it may (root
 * with apt-get), and otherwise stops at once with one line naming the command. A skip needs an
 * explicit variable and says so. Runs scripts/run-tests.mjs as a child, as `npm test` does.
 */
import { after, test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const coverageDir = mkdtempSync(join(tmpdir(), 'bulwark-prereq-coverage-'));
chmodSync(coverageDir, 0o777);
after(() => rmSync(coverageDir, { recursive: true, force: true }));

function runTests(
  files: readonly string[],
  env: Record<string, string>,
  asUser?: 'nobody',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Without NODE_TEST_CONTEXT the child is a run of its own, not a part of this one.
  const { NODE_TEST_CONTEXT: _context, ...parentEnv } = process.env;
  // Under c8, Node hands NODE_V8_COVERAGE to every child unless the child's env names it: point
  // it where `nobody` may write (run-tests.mjs is not measured anyway).
  if (parentEnv['NODE_V8_COVERAGE'] !== undefined) parentEnv['NODE_V8_COVERAGE'] = coverageDir;
  // Root may install packages; `nobody` may not, which is the case of most developers' machines.
  // `nobody` runs the `node` on PATH: this test's own binary may sit in root's home (the other
  // Node lines' cache), which `nobody` cannot enter.
  const asNobody = asUser === 'nobody' && process.getuid?.() === 0;
  const node = [asNobody ? 'node' : process.execPath, 'scripts/run-tests.mjs', ...files];
  const [command, ...args] = asNobody
    ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...node]
    : node;
  return new Promise((resolve, reject) => {
    const child = spawn(command!, args, { cwd: root, env: { ...parentEnv, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('test prerequisites', () => {
  test('a missing redis-server that cannot be installed here stops the run at once with one line', async () => {
    const r = await runTests(
      ['test/stores/redis.test.ts'],
      { BULWARK_REDIS_SERVER: '/nonexistent/redis-server' },
      'nobody',
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'no test ran');
    assert.equal(
      r.stderr,
      'run-tests: redis-server missing: run `sudo apt-get install -y redis-server`, or point BULWARK_REDIS_SERVER ' +
        'at a redis-server binary (macOS: `brew install redis`); or skip those tests with BULWARK_SKIP_REDIS=1\n',
    );
  });

  test('both missing are named in the same line', async () => {
    const r = await runTests(
      ['test/stores/redis.test.ts', 'test/lab/report.test.ts'],
      { BULWARK_REDIS_SERVER: '/nonexistent/redis-server', BULWARK_CHROMIUM: '/nonexistent/chromium' },
      'nobody',
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^run-tests: redis-server and chromium missing: run `sudo apt-get install -y redis-server chromium`, .*BULWARK_SKIP_REDIS=1 BULWARK_SKIP_BROWSER=1\n$/,
    );
  });

  test('a skip is asked for by name and printed per group', async () => {
    const r = await runTests(['test/stores/redis.test.ts'], {
      BULWARK_SKIP_REDIS: '1',
      BULWARK_REDIS_SERVER: '/nonexistent/redis-server',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^run-tests: skipping the Redis tests \(BULWARK_SKIP_REDIS=1\) in test\/stores\/redis\.test\.ts$/m,
    );
  });

  test('files that need neither program run without either', async () => {
    const r = await runTests(
      ['test/clock/'],
      {
        BULWARK_REDIS_SERVER: '/nonexistent/redis-server',
        BULWARK_CHROMIUM: '/nonexistent/chromium',
      },
      'nobody',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /run-tests:/);
  });
});
