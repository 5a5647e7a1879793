import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import {
  LOG_EVENT_LEVELS,
  levelEnabled,
  logEvent,
  logFields,
  logMessage,
  noopLogger,
  parseLogLevel,
  requestLine,
  responseLine,
  type LogInput,
  type Logger,
  type LogLevel,
} from '../../src/observability/logger.js';
import { Redactor } from '../../src/observability/redact.js';

interface Line {
  level: LogLevel;
  obj: object;
  msg: string | undefined;
}

function capture(level = 'trace'): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const make = (bindings: object): Logger => {
    const at = (l: LogLevel) => (obj: object, msg?: string) =>
      lines.push({ level: l, obj: { ...bindings, ...obj }, msg });
    return {
      trace: at('trace'),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      fatal: at('fatal'),
      child: (more) => make({ ...bindings, ...more }),
      level,
    };
  };
  return { logger: make({}), lines };
}

const secretCall: LogInput = {
  event: 'request',
  correlationId: 'req_0123456789abcdef',
  method: 'POST',
  url: 'https://user:pw@api.test/charges?api_key=AK&expand=1',
  attempt: 1,
  key: 'https://api.test',
  headers: { Authorization: 'Bearer tok_live', 'content-type': 'application/json' },
  body: '{"amount":100,"card":{"number":"4242424242424242","cvc":"123"}}',
  contentType: 'application/json',
};

describe('line builders', () => {
  test('request and response lines have the exact documented format', () => {
    assert.equal(requestLine('GET', 'https://api.test/users'), '→ GET https://api.test/users');
    assert.equal(
      requestLine('GET', new URL('https://a:b@api.test/u?token=t')),
      '→ GET https://[REDACTED]@api.test/u?token=[REDACTED]',
    );
    assert.equal(responseLine(200, 45), '← 200 (45ms)');
    assert.equal(responseLine(503, 44.6), '← 503 (45ms)');
    assert.equal(responseLine(undefined, 5), '← error (5ms)');
  });

  test('every event has a one-line message', () => {
    const base = { correlationId: 'req_1', method: 'GET', url: 'https://h/x?sig=s' };
    assert.equal(logMessage({ ...base, event: 'request' }), '→ GET https://h/x?sig=[REDACTED]');
    assert.equal(logMessage({ ...base, event: 'response', status: 201, durationMs: 12.2 }), '← 201 (12ms)');
    assert.equal(
      logMessage({ ...base, event: 'retry', attempt: 2, delayMs: 149.7, status: 503 }),
      '↻ retry 2 in 150ms (503)',
    );
    assert.equal(
      logMessage({ ...base, event: 'retry', attempt: 3, delayMs: 10, code: 'NETWORK' }),
      '↻ retry 3 in 10ms (NETWORK)',
    );
    assert.equal(
      logMessage({ ...base, event: 'error', code: 'ATTEMPT_TIMEOUT', durationMs: 10_000 }),
      '← ATTEMPT_TIMEOUT (10000ms)',
    );
    assert.equal(
      logMessage({ ...base, event: 'rejected', code: 'CIRCUIT_OPEN' }),
      '✕ CIRCUIT_OPEN GET https://h/x?sig=[REDACTED]',
    );
    assert.equal(
      logMessage({ ...base, method: 'GET\r\nX', event: 'request' }),
      '→ GET??X https://h/x?sig=[REDACTED]',
    );
    assert.equal(logMessage({ ...base, event: 'retry' }), '↻ retry ? in 0ms (error)');
    assert.equal(logMessage({ ...base, event: 'error' }), '← error (0ms)');
    assert.equal(logMessage({ ...base, event: 'rejected' }), '✕ rejected GET https://h/x?sig=[REDACTED]');
  });
});

describe('logFields', () => {
  test('carries the documented fields, with URL, headers, body and key redacted', () => {
    const fields = logFields({ ...secretCall, event: 'response', status: 200, durationMs: 45.4 });
    assert.deepEqual(fields, {
      correlationId: 'req_0123456789abcdef',
      event: 'response',
      method: 'POST',
      url: 'https://[REDACTED]@api.test/charges?api_key=[REDACTED]&expand=1',
      status: 200,
      durationMs: 45,
      attempt: 1,
      key: 'https://api.test',
      headers: { authorization: '[REDACTED]', 'content-type': 'application/json' },
      body: '{"amount":100,"card":{"number":"[REDACTED]","cvc":"[REDACTED]"}}',
    });
  });

  test('errors are reduced to their redacted form', () => {
    const fields = logFields({
      ...secretCall,
      event: 'error',
      code: 'NETWORK',
      error: new Error('socket hang up at https://u:p@h/?token=t'),
    });
    assert.equal(fields.code, 'NETWORK');
    assert.equal(fields.err?.message, 'socket hang up at https://[REDACTED]@h/?token=[REDACTED]');
  });
});

describe('levelEnabled', () => {
  test('no logger, the no-op logger or a silent minimum write nothing', () => {
    assert.equal(levelEnabled(undefined, 'fatal'), false);
    assert.equal(levelEnabled(noopLogger, 'fatal', 'trace'), false);
    assert.equal(levelEnabled(capture().logger, 'fatal', 'silent'), false);
  });

  test('respects the configured minimum and the logger’s own level', () => {
    const { logger } = capture('warn');
    assert.equal(levelEnabled(logger, 'info', 'trace'), false);
    assert.equal(levelEnabled(logger, 'warn', 'trace'), true);
    assert.equal(levelEnabled(logger, 'warn', 'error'), false);
    assert.equal(levelEnabled(capture('trace').logger, 'debug'), false);
    assert.equal(levelEnabled(capture('trace').logger, 'info'), true);
    assert.equal(levelEnabled(capture('custom-level').logger, 'trace', 'trace'), true);
    assert.equal(levelEnabled(capture('silent').logger, 'fatal', 'trace'), false);
  });

  test('parseLogLevel accepts the levels and names the option otherwise', () => {
    assert.equal(parseLogLevel(undefined), 'info');
    for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      assert.equal(parseLogLevel(level), level);
    assert.throws(() => parseLogLevel('verbose'), /`logging\.level`: got "verbose", expected 'trace'/);
    assert.throws(() => parseLogLevel('toString'), /logging\.level/);
  });
});

describe('logEvent', () => {
  test('writes one redacted line at the event’s level', () => {
    const { logger, lines } = capture();
    logEvent(logger.child({ client: 'payments' }), 'info', secretCall);
    assert.equal(lines.length, 1);
    const line = lines[0]!;
    assert.equal(line.level, LOG_EVENT_LEVELS.request);
    assert.equal(line.msg, '→ POST https://[REDACTED]@api.test/charges?api_key=[REDACTED]&expand=1');
    assert.equal((line.obj as Record<string, unknown>).client, 'payments');
    const text = JSON.stringify(line);
    for (const secret of ['pw', 'AK', 'tok_live', '4242424242424242', '"123"'])
      assert.ok(!text.includes(secret), secret);
  });

  test('does no redaction work at all when the level is off', () => {
    const { logger, lines } = capture('error');
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('redactor used while logging is off');
        },
      },
    ) as unknown as Redactor;
    logEvent(logger, 'info', secretCall, trap);
    logEvent(noopLogger, 'trace', secretCall, trap);
    logEvent(logger, 'info', { ...secretCall, event: 'retry', attempt: 2, delayMs: 5 }, trap);
    assert.equal(lines.length, 0);
  });

  test('a throwing logger never breaks the caller', () => {
    const broken: Logger = {
      ...capture().logger,
      info: () => {
        throw new Error('disk full');
      },
    };
    assert.doesNotThrow(() => logEvent(broken, 'info', secretCall));
  });

  test('works with a real pino logger and its children', () => {
    const out: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const logger: Logger = pino({ level: 'info', base: null, timestamp: false }, stream);
    logEvent(logger.child({ client: 'github' }), 'info', {
      ...secretCall,
      event: 'response',
      status: 201,
      durationMs: 45,
    });
    logEvent(logger, 'info', { ...secretCall, event: 'request' }, undefined, 'debug');
    assert.equal(out.length, 1);
    const line = JSON.parse(out[0]!) as Record<string, unknown>;
    assert.equal(line.msg, '← 201 (45ms)');
    assert.equal(line.client, 'github');
    assert.equal(line.event, 'response');
    assert.equal(line.correlationId, 'req_0123456789abcdef');
    assert.ok(!out[0]!.includes('tok_live') && !out[0]!.includes('4242424242424242'));
  });
});
