import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics_channel from 'node:diagnostics_channel';
import { BulwarkError } from '../../src/errors.js';
import {
  CHANNEL_NAMES,
  requestChannel,
  requestChannelActive,
  traceRequest,
  type RequestChannelContext,
  type RetryMessage,
} from '../../src/observability/channels.js';
import { EventSinks } from '../../src/observability/event-sinks.js';
import type { CallRecord, PolicyEvent } from '../../src/observability/policy-events.js';
import { defaultRedactor } from '../../src/observability/redact.js';
import { NOOP_TELEMETRY } from '../../src/observability/telemetry.js';

const call = {
  client: 'github',
  correlationId: 'req_0123456789abcdef',
  method: 'GET',
  url: 'https://api.github.com/x',
};

function requestContext(): RequestChannelContext {
  return { ...call, urlTemplate: '/x' };
}

interface Seen {
  event: string;
  status: number | undefined;
  attempts: number | undefined;
  hasResult: boolean;
  error: unknown;
}

/** Subscribes to every `bulwark:request` event; returns the log and the unsubscribe function. */
function recordRequests(): { seen: Seen[]; stop: () => void } {
  const seen: Seen[] = [];
  const handler = (event: string) => (message: RequestChannelContext) => {
    seen.push({
      event,
      status: message.status,
      attempts: message.attempts,
      hasResult: message.result !== undefined,
      error: message.error,
    });
  };
  const subscribers = {
    start: handler('start'),
    end: handler('end'),
    asyncStart: handler('asyncStart'),
    asyncEnd: handler('asyncEnd'),
    error: handler('error'),
  };
  requestChannel.subscribe(subscribers);
  return { seen, stop: () => requestChannel.unsubscribe(subscribers) };
}

describe('bulwark:request', () => {
  test('without subscribers traceRequest is the bare call: the same promise, no context touched', () => {
    assert.equal(requestChannelActive(), false);
    const promise = Promise.resolve({ status: 200, attempts: 1 });
    const context = requestContext();
    assert.equal(
      traceRequest(context, () => promise, undefined),
      promise,
    );
    assert.deepEqual(Object.keys(context), ['client', 'correlationId', 'method', 'url', 'urlTemplate']);
  });

  test('a successful call publishes start, end, asyncStart, asyncEnd; status and attempts are set before asyncStart', async () => {
    const { seen, stop } = recordRequests();
    try {
      assert.equal(requestChannelActive(), true);
      const response = { status: 201, attempts: 2 };
      const context = requestContext();
      const result = await traceRequest(context, (arg: number) => Promise.resolve({ ...response, arg }), 7);
      assert.deepEqual(result, { ...response, arg: 7 });
      assert.deepEqual(
        seen.map((s) => s.event),
        ['start', 'end', 'asyncStart', 'asyncEnd'],
      );
      assert.equal(seen[0]?.status, undefined);
      assert.deepEqual(seen[2], {
        event: 'asyncStart',
        status: 201,
        attempts: 2,
        hasResult: true,
        error: undefined,
      });
      assert.equal(context.result, result);
    } finally {
      stop();
    }
  });

  test('a failed call publishes error with the attempts and the refused status from the error', async () => {
    const { seen, stop } = recordRequests();
    try {
      const error = new BulwarkError('HTTP_STATUS', 'HTTP 503', { attempts: 4, response: { status: 503 } });
      await assert.rejects(
        traceRequest(requestContext(), () => Promise.reject(error), undefined),
        (thrown) => thrown === error,
      );
      assert.deepEqual(
        seen.map((s) => s.event),
        ['start', 'end', 'error', 'asyncStart', 'asyncEnd'],
      );
      assert.deepEqual(seen[2], { event: 'error', status: 503, attempts: 4, hasResult: false, error });

      seen.length = 0;
      await assert.rejects(traceRequest(requestContext(), () => Promise.reject(new Error('x')), undefined));
      assert.equal(seen[2].attempts, undefined);
    } finally {
      stop();
    }
  });

  test('a store bound to the start channel is active inside the call (how APMs attach context)', async () => {
    const store = new AsyncLocalStorage<string>();
    requestChannel.start.bindStore(store, (context) => context.correlationId);
    try {
      let inside: string | undefined;
      await traceRequest(
        requestContext(),
        async () => {
          await Promise.resolve();
          inside = store.getStore();
          return { status: 200, attempts: 1 };
        },
        undefined,
      );
      assert.equal(inside, call.correlationId);
      assert.equal(store.getStore(), undefined);
    } finally {
      requestChannel.start.unbindStore(store);
    }
  });
});

describe('point channels', () => {
  const sinks = new EventSinks('github', NOOP_TELEMETRY, defaultRedactor, {
    logger: undefined,
    level: 'silent',
    logHeaders: false,
    logBody: false,
    bodyLimit: 100,
  });
  const record: CallRecord = {
    correlationId: call.correlationId,
    method: 'GET',
    origin: 'https://api.github.com',
    path: '/x?token=secret',
    key: 'https://api.github.com',
  };
  const cases: readonly { name: string; event: PolicyEvent; callBound: boolean }[] = [
    {
      name: CHANNEL_NAMES.retry,
      callBound: true,
      event: {
        event: 'retry',
        key: 'k',
        attempt: 1,
        delayMs: 250,
        status: 503,
        errorCode: undefined,
        delaySource: 'backoff',
      },
    },
    {
      name: CHANNEL_NAMES.circuit,
      callBound: false,
      event: {
        event: 'circuit-transition',
        key: 'k',
        from: 'closed',
        to: 'open',
        failureRatio: 0.6,
        openMs: 5_000,
        reason: 'failure-ratio',
      },
    },
    {
      name: CHANNEL_NAMES.rateLimit,
      callBound: true,
      event: { event: 'rate-limit-wait', key: 'k', waitMs: 40 },
    },
    {
      name: CHANNEL_NAMES.concurrency,
      callBound: false,
      event: { event: 'concurrency-limit', key: 'k', limit: 21, previousLimit: 20, inflight: 3 },
    },
    {
      name: CHANNEL_NAMES.deadline,
      callBound: true,
      event: {
        event: 'deadline-exceeded',
        deadline: 1_700_000_000_000,
        phase: 'before-retry',
        source: 'deadline',
      },
    },
    {
      name: CHANNEL_NAMES.hedge,
      callBound: true,
      event: { event: 'hedge-spawned', key: 'k', hedge: 1, delayMs: 80 },
    },
    {
      name: CHANNEL_NAMES.redirect,
      callBound: true,
      event: {
        event: 'redirect',
        url: 'https://a.test/',
        status: 302,
        location: 'https://b.test/',
        count: 1,
        droppedHeaders: ['authorization'],
      },
    },
    {
      name: CHANNEL_NAMES.budget,
      callBound: true,
      event: { event: 'budget-exhausted', key: 'k', kind: 'retry' },
    },
  ];

  for (const { name, event, callBound } of cases) {
    test(`${name} reaches subscribers by name, and only while subscribed`, () => {
      const received: unknown[] = [];
      const listener = (message: unknown, channelName: string | symbol) => {
        assert.equal(channelName, name);
        received.push(message);
      };
      assert.equal(sinks.wants(event.event, undefined), false, 'nobody listens: nothing to build');
      diagnostics_channel.subscribe(name, listener);
      assert.equal(sinks.wants(event.event, undefined), true);
      sinks.emit(callBound ? record : undefined, undefined, event);
      diagnostics_channel.unsubscribe(name, listener);
      sinks.emit(callBound ? record : undefined, undefined, event);
      assert.equal(received.length, 1);
      assert.equal((received[0] as { client: string }).client, 'github');
      assert.equal('event' in (received[0] as object), false, 'the discriminant stays inside');
    });
  }

  test('the retry payload is the call (URL redacted) and the decision, with no header, body or secret field', () => {
    let received: unknown;
    const listener = (message: unknown) => {
      received = message;
    };
    diagnostics_channel.subscribe(CHANNEL_NAMES.retry, listener);
    try {
      sinks.emit(record, undefined, cases[0]?.event as PolicyEvent);
    } finally {
      diagnostics_channel.unsubscribe(CHANNEL_NAMES.retry, listener);
    }
    const { event: _kind, ...decision } = cases[0]?.event as PolicyEvent & { event: 'retry' };
    const expected: RetryMessage = { ...call, url: 'https://api.github.com/x?token=[REDACTED]', ...decision };
    assert.deepEqual(received, expected);
    assert.deepEqual(Object.keys(expected).sort(), [
      'attempt',
      'client',
      'correlationId',
      'delayMs',
      'delaySource',
      'errorCode',
      'key',
      'method',
      'status',
      'url',
    ]);
  });

  test("an event's own redacted url replaces the call's, and only when it has one", () => {
    const received: unknown[] = [];
    const listener = (message: unknown) => received.push(message);
    diagnostics_channel.subscribe(CHANNEL_NAMES.circuit, listener);
    try {
      sinks.emit(record, undefined, {
        event: 'circuit-rejected',
        key: 'k',
        retryAfterMs: 5,
        url: 'https://e.test/',
      });
      sinks.emit(record, undefined, { event: 'circuit-rejected', key: 'k', retryAfterMs: 5, url: undefined });
    } finally {
      diagnostics_channel.unsubscribe(CHANNEL_NAMES.circuit, listener);
    }
    assert.deepEqual(
      received.map((m) => (m as { url: string; type: string }).url),
      ['https://e.test/', 'https://api.github.com/x?token=[REDACTED]'],
    );
    assert.equal((received[0] as { type: string }).type, 'rejected');
  });
});
