// Walks the table of error codes and checks each trait against what a user of the client sees.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { BulwarkError, isBulwarkError, type BulwarkErrorCode } from '../../src/index.js';
import { ERROR_TRAITS, type BulwarkErrorFields, type ErrorTraits } from '../../src/errors.js';
import type { Attempt, Transport } from '../../src/transport/attempt.js';
import type { BulwarkResponse } from '../../src/http/response.js';
import { ORIGIN, virtualClientOver } from '../helpers/virtual-client.js';

const CODES = Object.keys(ERROR_TRAITS) as BulwarkErrorCode[];

const SAMPLE_VALUES: Required<BulwarkErrorFields> = {
  cause: new Error('sample cause'),
  method: 'GET',
  url: `${ORIGIN}/x`,
  key: ORIGIN,
  retryAfterMs: 5,
  limit: 1,
  inflight: 1,
  timeoutMs: 10,
  deadline: 0,
  sent: false,
  response: undefined,
  path: 'sample.path',
  attempts: 1,
};

/** An error of `code` with every field its row guarantees, as an upstream stage would raise it. */
function sample(code: BulwarkErrorCode, sent: boolean): BulwarkError {
  const fields: BulwarkErrorFields = { sent };
  for (const name of ERROR_TRAITS[code].fields) {
    if (name !== 'sent') (fields as Record<string, unknown>)[name] = SAMPLE_VALUES[name];
  }
  return new BulwarkError(code, `sample ${code}`, fields);
}

/** A transport whose every attempt fails with a fresh error of `code`; counts what it was asked to send. */
class FailingTransport implements Transport {
  sends = 0;
  constructor(
    private readonly code: BulwarkErrorCode,
    private readonly sent = false,
  ) {}
  send(attempt: Attempt): Promise<BulwarkResponse> {
    this.sends++;
    attempt.finish();
    return Promise.reject(sample(this.code, this.sent));
  }
  stats(): Record<string, never> {
    return {};
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

function failingClient(code: BulwarkErrorCode, options: Record<string, unknown>, sent = false) {
  return virtualClientOver(new FailingTransport(code, sent), options);
}

/** Runs one call to its end on the virtual clock (retry waits included) and returns its error. */
async function failedCall(
  setup: ReturnType<typeof failingClient>,
  method: 'GET' | 'POST' = 'GET',
): Promise<BulwarkError> {
  const call = setup.client.request({ method, path: '/x' }).then(
    () => undefined,
    (error: unknown) => error,
  );
  await setup.clock.runAll();
  const error = await call;
  assert.ok(isBulwarkError(error), `expected a BulwarkError, got ${String(error)}`);
  return error;
}

describe('the table of error codes', () => {
  test('has one frozen row per code, each listing only fields a BulwarkError carries', () => {
    assert.ok(Object.isFrozen(ERROR_TRAITS));
    for (const code of CODES) {
      const row = ERROR_TRAITS[code];
      assert.ok(Object.isFrozen(row) && Object.isFrozen(row.fields), `${code}: its row is frozen`);
      for (const name of row.fields) assert.ok(name in SAMPLE_VALUES, `${code}: ${name} is an error field`);
    }
  });

  for (const code of CODES) {
    const traits = ERROR_TRAITS[code];

    test(`${code}: retry '${traits.retry}' is what the retry stage does with it`, async () => {
      const plain = failingClient(code, { retry: { maxRetries: 1, budget: false } });
      await failedCall(plain);
      assert.equal(plain.transport.sends, traits.retry === 'transient' ? 2 : 1, 'GET, default rules');
      if (traits.retry === 'transient') {
        const posted = failingClient(code, { retry: { maxRetries: 1, budget: false } }, true);
        await failedCall(posted, 'POST');
        assert.equal(posted.transport.sends, 1, 'a POST that reached the wire is not sent again');
        const unsent = failingClient(code, { retry: { maxRetries: 1, budget: false } }, false);
        await failedCall(unsent, 'POST');
        assert.equal(unsent.transport.sends, 2, 'a POST that sent nothing is safe to retry');
      }
      const asked = failingClient(code, { retry: { maxRetries: 1, budget: false, shouldRetry: () => true } });
      await failedCall(asked);
      assert.equal(asked.transport.sends, traits.retry === 'never' ? 1 : 2, 'shouldRetry says true');
    });

    test(`${code}: breakerFailure ${String(traits.breakerFailure)} is what the default breaker counts`, async () => {
      const setup = failingClient(code, {
        circuitBreaker: { failureThreshold: 2, failureRatio: false, openDuration: 1_000 },
      });
      await failedCall(setup);
      const circuit = setup.client.inspect().circuits?.find((c) => c.key === ORIGIN);
      assert.equal(circuit?.failures ?? 0, traits.breakerFailure ? 1 : 0);
    });

    test(`${code}: congestion ${String(traits.congestion)} is what the adaptive limit reacts to`, async () => {
      const setup = failingClient(code, { concurrency: { algorithm: 'aimd', initialLimit: 10 } });
      await failedCall(setup);
      const limit = setup.client.inspect().concurrency?.limit;
      assert.equal(limit, traits.congestion ? 9 : 10, 'a drop multiplies the AIMD limit by 0.9');
    });

    test(`${code}: logLevel '${traits.logLevel}' is the level of the attempt's log line`, async () => {
      const lines: { level: number; event?: string }[] = [];
      const logger = pino(
        { level: 'trace', base: null, timestamp: false },
        {
          write: (line: string) => lines.push(JSON.parse(line) as { level: number; event?: string }),
        },
      );
      await failedCall(failingClient(code, { logging: { logger, level: 'trace' } }));
      const errorLines = lines.filter((line) => line.event === 'error');
      assert.ok(errorLines.length > 0, 'the attempt was logged');
      for (const line of errorLines) assert.equal(line.level, pino.levels.values[traits.logLevel]);
    });
  }
});

/** A row of the docs' table, as docs/errors.md writes it. */
function docsRow(code: string, t: ErrorTraits): string {
  const yes = (flag: boolean) => (flag ? 'yes' : '—');
  const cells = [
    `\`${code}\``,
    yes(t.rejection),
    t.callerEnded === false ? '—' : t.callerEnded,
    yes(t.breakerFailure),
    t.retry,
    yes(t.congestion),
    yes(t.timeout),
    t.logLevel,
    yes(t.servesStale),
    yes(t.recorded),
    t.fields.length === 0 ? '—' : t.fields.map((name) => `\`${name}\``).join(', '),
  ];
  return `| ${cells.join(' | ')} |`;
}

test('docs/errors.md lists every code with the traits of the table, in its order', () => {
  const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('## What each code means to bulwark'));
  const rows = section.split('\n').filter((line) => /^\| `[A-Z_]+` \|/.test(line));
  assert.deepEqual(
    rows,
    CODES.map((code) => docsRow(code, ERROR_TRAITS[code])),
  );
});
