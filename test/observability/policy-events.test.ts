/**
 * Policy events that used to reach their channel only: with a real client on the virtual clock
 * and a real pino logger, the deadline, queueing, hedge-race and limit events now write their
 * log lines at the documented levels; every telemetry name the table uses is documented.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { isBulwarkError } from '../../src/index.js';
import { METRIC, SPAN_EVENT } from '../../src/observability/names.js';
import { EVENT_TABLE } from '../../src/observability/policy-events.js';
import { virtualClient } from '../helpers/virtual-client.js';

interface Line {
  level: number;
  msg: string;
  event: string;
  [field: string]: unknown;
}

function memoryLogger(level: string): { logger: pino.Logger; lines: () => Line[] } {
  const raw: string[] = [];
  const logger = pino({ level, base: null, timestamp: false }, { write: (s: string) => raw.push(s) });
  return { logger, lines: () => raw.map((s) => JSON.parse(s) as Line) };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => assert.fail('expected a rejection'),
    (error: unknown) => error,
  );
}

describe('policy events reach the log', () => {
  test('a deadline already past writes one warn line with its phase; nothing is sent', async () => {
    const { logger, lines } = memoryLogger('info');
    const { clock, mock, client } = virtualClient({ logging: { logger, level: 'info' } });
    mock.on('GET', '/x').reply(200);
    const error = await failure(client.get('/x?token=secret', { deadline: new Date(clock.now() - 1) }));
    assert.ok(isBulwarkError(error, 'DEADLINE_EXCEEDED'), String(error));
    const deadline = lines().filter((l) => l.event === 'deadline');
    assert.equal(deadline.length, 1);
    const line = deadline[0] as Line;
    assert.equal(line.level, 40);
    assert.equal(line.phase, 'before-send');
    assert.equal(line.source, 'deadline');
    assert.match(line.msg, /^⏱ deadline exceeded before-send GET https?:\/\/\S+\/x\?token=\[REDACTED\]$/);
    assert.equal(mock.calls.length, 0);
    await client.close();
  });

  test('queueing for a concurrency permit is a debug line, absent at info', async () => {
    for (const level of ['debug', 'info'] as const) {
      const { logger, lines } = memoryLogger(level);
      const { clock, mock, client } = virtualClient({
        logging: { logger, level },
        timeout: { attempt: false, total: 10_000 },
        concurrency: { algorithm: 'fixed', initialLimit: 1, maxQueue: 5, queueTimeout: 60_000 },
      });
      mock.on('GET', '/slow').reply(200, 'ok', { delay: 100 });
      const calls = [client.get('/slow'), client.get('/slow')];
      await clock.advance(500);
      await Promise.all(calls);
      const queued = lines().filter((l) => l.event === 'concurrency-queued');
      if (level === 'info') {
        assert.equal(queued.length, 0, 'debug detail stays out of an info log');
      } else {
        assert.equal(queued.length, 1);
        const line = queued[0] as Line;
        assert.equal(line.level, 20);
        assert.deepEqual([line.limit, line.inflight, line.queued], [1, 1, 1]);
      }
      await client.close();
    }
  });
});

describe('the event table', () => {
  const docs = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

  test('every metric and span event name is documented', () => {
    for (const name of [...Object.values(METRIC), ...Object.values(SPAN_EVENT)]) {
      assert.ok(docs.includes(`\`${name}\``), `${name} is in docs/observability.md`);
    }
  });

  test('every log line an event can write is documented with its event name', () => {
    for (const [kind, row] of Object.entries(EVENT_TABLE)) {
      if (row.log === false) continue;
      assert.ok(docs.includes(`| \`${logEventOf(kind)}\` |`), `${kind}'s line is in the logging table`);
    }
  });
});

/** The `event` field of a kind's line, read from its row with a neutral record. */
function logEventOf(kind: string): string {
  const row = EVENT_TABLE[kind as keyof typeof EVENT_TABLE];
  if (row.log === false) return '';
  const line = (row.log.line as (e: unknown) => { event: string } | undefined)({
    key: 'k',
    status: 'hit',
    phase: 'before-send',
  });
  return line?.event ?? '';
}
