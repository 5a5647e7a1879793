import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HedgeMessage } from '../../src/observability/channels.js';
import { captureChannel } from '../helpers/channel-capture.js';
import { ORIGIN, virtualClient } from '../helpers/virtual-client.js';

const hedges = captureChannel<HedgeMessage>('bulwark:hedge');

describe('hedging through the client (virtual clock)', () => {
  afterEach(() => {
    hedges.stop();
  });

  test('a slow primary: the hedge goes after the delay, wins, and both are published', async () => {
    const { clock, mock, client } = virtualClient({ name: 'search', hedging: { delay: 100 } });
    mock.on('GET', '/q').sequence([{ kind: 'hang' }, { status: 200, body: 'from the hedge' }]);
    hedges.start();
    const call = client.get('/q');
    await clock.advance(100);
    const response = await call;
    assert.equal(await response.text(), 'from the hedge');
    assert.equal(mock.calls.length, 2);
    assert.equal(response.attempts, 2);
    assert.deepEqual(
      mock.calls.map((c) => c.attempt),
      [1, 2],
      'the hedge is attempt 2, not a second attempt 1',
    );
    const mine = hedges.messages.filter((m) => m.client === 'search');
    assert.deepEqual(
      mine.map((m) =>
        m.type === 'spawned' ? ['spawned', m.hedge, m.delayMs] : ['settled', m.winner, m.hedges],
      ),
      [
        ['spawned', 1, 100],
        ['settled', 1, 1],
      ],
    );
    assert.equal(mine[1]?.url, `${ORIGIN}/q`);
  });

  test('a primary that answers before the delay: no hedge, nothing published', async () => {
    const { clock, mock, client } = virtualClient({ name: 'fast', hedging: { delay: 100 } });
    mock.on('GET', '/q').reply(200, 'primary');
    hedges.start();
    const call = client.get('/q');
    await clock.advance(0);
    assert.equal(await (await call).text(), 'primary');
    await clock.advance(200);
    assert.equal(mock.calls.length, 1);
    assert.deepEqual(
      hedges.messages.filter((m) => m.client === 'fast'),
      [],
    );
  });

  test('a POST is never hedged (it would be sent twice)', async () => {
    const { clock, mock, client } = virtualClient({ hedging: { delay: 10 } });
    mock.on('POST', '/charge').reply(200, 'ok', { delay: 500 });
    const call = client.post('/charge', { json: { amount: 1 } });
    await clock.advance(500);
    assert.equal((await call).status, 200);
    assert.equal(mock.calls.length, 1);
  });
});
