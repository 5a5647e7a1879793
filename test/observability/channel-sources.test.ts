/**
 * Messages that come from less common paths: a circuit open on another node (shared store), a
 * 429's Retry-After, the hop a redirect came from.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isBulwarkError } from '../../src/index.js';
import type { CircuitMessage, RateLimitMessage, RedirectMessage } from '../../src/observability/channels.js';
import type { CircuitStore, SharedCircuitState } from '../../src/policies/store-contract.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';

const circuits = captureChannel<CircuitMessage>('bulwark:circuit');
const rateLimits = captureChannel<RateLimitMessage>('bulwark:rate-limit');
const redirects = captureChannel<RedirectMessage>('bulwark:redirect');

/** A fleet where another node opened the circuit of every key for 4 s. */
const openElsewhere: CircuitStore = {
  check: (): SharedCircuitState => ({ state: 'open', retryAfterMs: 4_000, openMs: 5_000 }),
  open: () => undefined,
  close: () => undefined,
  acquireProbe: () => false,
};

describe('channel messages from the less common paths', () => {
  afterEach(() => {
    circuits.stop();
    rateLimits.stop();
    redirects.stop();
  });

  test("bulwark:circuit 'rejected' when the shared store says another node opened the circuit", async () => {
    const { mock, client } = virtualClient({ circuitBreaker: { store: openElsewhere } });
    mock.on('GET', '/x').reply(200);
    circuits.start();
    const error = await client.get('/x?token=s3cret').then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(error, 'CIRCUIT_OPEN'));
    assert.equal(mock.calls.length, 0);
    assert.equal(circuits.messages.length, 1);
    const message = circuits.messages[0];
    assert.ok(message?.type === 'rejected');
    assert.equal(message.key, ORIGIN);
    assert.equal(message.retryAfterMs, 4_000);
    assert.doesNotMatch(message.url, /s3cret/);
  });

  test("bulwark:circuit 'rejected' once (not twice) for a local open breaker", async () => {
    const { clock, mock, client } = virtualClient({
      circuitBreaker: { failureThreshold: 1, failureRatio: false, openDuration: 5_000 },
    });
    mock.on('GET', '/x').reply(500);
    await client.get('/x');
    circuits.start();
    await client.get('/x').catch(() => undefined);
    await clock.advance(0);
    assert.deepEqual(
      circuits.messages.map((m) => m.type),
      ['rejected'],
    );
  });

  test("bulwark:rate-limit 'hint' when a 429's Retry-After holds the bucket", async () => {
    const { mock, client } = virtualClient({ rateLimit: { requests: 100, per: 'second' } });
    mock.on('GET', '/x').reply(429, '', { headers: { 'retry-after': '2' } });
    rateLimits.start();
    assert.equal((await client.get('/x')).status, 429);
    const hints = rateLimits.messages.filter((m) => m.type === 'hint');
    assert.equal(hints.length, 1);
    assert.ok(hints[0]?.type === 'hint');
    assert.equal(hints[0].remaining, 0);
    assert.equal(hints[0].resetMs, 2_000);
  });

  test("bulwark:redirect names the hop each redirect came from, not the call's first URL", async () => {
    const { clock, mock, client } = virtualClient({});
    mock.on('GET', '/a').reply(302, '', { headers: { location: '/b' } });
    mock.on('GET', '/b').reply(302, '', { headers: { location: '/c?token=s3cret' } });
    mock.on('GET', '/c').reply(200, 'done');
    redirects.start();
    const call = client.get('/a');
    await clock.runAll();
    assert.equal(await (await call).text(), 'done');
    assert.deepEqual(
      redirects.messages.map((m) => [m.url, m.count]),
      [
        [`${ORIGIN}/a`, 1],
        [`${ORIGIN}/b`, 2],
      ],
    );
    assert.doesNotMatch(JSON.stringify(redirects.messages), /s3cret/);
  });
});
