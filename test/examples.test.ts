import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** What each example must print; every file in examples/ must be listed. */
const expected: Record<string, readonly RegExp[]> = {
  'stripe-client.ts': [
    /^charge ch_1 of 1500 created after 2 attempts$/m,
    /^without an idempotency key: status 503 after 1 attempt$/m,
    /^charges created on the server: 1$/m,
  ],
  'github-client.ts': [
    /^nodejs\/undici: 4200 stars \(quota left: 4999 of 5000\)$/m,
    /^local bucket http:\/\/127\.0\.0\.1:\d+: \d+ requests left now$/m,
  ],
  'config-from-env.ts': [
    /^configured client "api"$/m,
    /^INVALID_OPTIONS at retry\.maxRetries: Invalid option `retry\.maxRetries`: got NaN, expected an integer from 0 to 100\.$/m,
    /^INVALID_OPTIONS at timeout\.attempt: /m,
    /^INVALID_OPTIONS at baseUrl: /m,
    /^INVALID_OPTIONS at rateLimit\.requests: /m,
  ],
  'circuit-monitoring.ts': [
    /^\[bulwark:circuit\] orders http:\/\/127\.0\.0\.1:\d+: closed -> open$/m,
    /^call refused: CIRCUIT_OPEN$/m,
    /^WARN circuit http:\/\/127\.0\.0\.1:\d+: open \(3 failures in 3 calls\)$/m,
    /^\[bulwark:circuit\] orders http:\/\/127\.0\.0\.1:\d+: half-open -> closed$/m,
    /^probe answered 200$/m,
  ],
  'graceful-degradation.ts': [
    /^price of A: 10 \(live\)$/m,
    /^price of A: 10 \(cached: CIRCUIT_OPEN, retry in \d+ ms\)$/m,
    /^price of B: 0 \(default: CIRCUIT_OPEN, retry in \d+ ms\)$/m,
    /^price of C: 10 \(cached: RATE_LIMITED, retry in \d+ ms\)$/m,
  ],
  'deadlines.ts': [
    /^inventory: received deadline \d+ ms$/m,
    /^caller: checkout answered 200 \{"inStock":3\}$/m,
    /^caller: tight budget answered 504 \{"error":"not enough time"\}$/m,
    /^caller: gave up with DEADLINE_EXCEEDED$/m,
  ],
  'testing-mock.ts': [/^# pass 5$/m, /^# fail 0$/m],
  'testing-cassette.ts': [
    /^recorded 1 interaction\(s\)$/m,
    /^replayed offline$/m,
    /^# pass 2$/m,
    /^# fail 0$/m,
  ],
  'testing-real-server.ts': [/^# pass 3$/m, /^# fail 0$/m],
};

function run(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Without NODE_TEST_CONTEXT the example's own node:test output is its own report, not this
  // runner's protocol. The reporter is named: Node 20 prints TAP (`# pass 3`) to a pipe, newer
  // lines print the spec reporter (`ℹ pass 3`).
  const { NODE_TEST_CONTEXT: _context, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const args = ['--test-reporter=tap', '--import', 'tsx', `examples/${file}`];
    const child = spawn(process.execPath, args, { cwd: root, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('examples', { concurrency: 4 }, () => {
  test('every example is listed here', () => {
    const files = readdirSync(new URL('../examples', import.meta.url)).filter((f) => f.endsWith('.ts'));
    assert.deepEqual(files.sort(), Object.keys(expected).sort());
  });

  for (const [file, lines] of Object.entries(expected)) {
    test(`${file} runs, exits 0 and prints what it promises`, async () => {
      const { code, stdout, stderr } = await run(file);
      assert.equal(code, 0, `exit code ${String(code)}\n${stdout}\n${stderr}`);
      for (const line of lines) assert.match(stdout, line);
    });
  }
});
