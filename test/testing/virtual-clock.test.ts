import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createVirtualClock } from '../../src/testing/index.js';

describe('createVirtualClock', () => {
  test('timers fire in time order, then in the order they were set; a cleared one never fires', async () => {
    const clock = createVirtualClock({ now: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    const cleared = clock.setTimeout(() => fired.push('cleared'), 15);
    cleared.clear();
    assert.equal(clock.pending(), 3);
    await clock.advance(20);
    assert.deepEqual(fired, ['a@10', 'b@20', 'c@20']);
    assert.equal(clock.now(), 20);
    assert.deepEqual(clock.scheduled, [20, 10, 20, 15]);
    assert.equal(clock.pending(), 0);
  });

  test('code awaiting a sleep runs before the next timer fires', async () => {
    const clock = createVirtualClock({ now: 0 });
    const seen: string[] = [];
    const run = (async () => {
      await clock.sleep(10);
      seen.push(`woke at ${clock.now()}`);
    })();
    clock.setTimeout(() => seen.push('timer at 11'), 11);
    await clock.advance(11);
    await run;
    assert.deepEqual(seen, ['woke at 10', 'timer at 11']);
  });

  test('background timers fire as time passes but are not waited for, counted or listed', async () => {
    const clock = createVirtualClock({ now: 0 });
    const fired: number[] = [];
    // A periodic sweep that re-arms itself for ever, as a housekeeping timer does while it has work.
    const sweep = (): void => {
      fired.push(clock.now());
      clock.setBackgroundTimeout?.(sweep, 100);
    };
    clock.setBackgroundTimeout?.(sweep, 100);
    assert.equal(clock.pending(), 0, 'pending() leaves background timers out');
    assert.equal(clock.pendingBackground(), 1);
    assert.equal(clock.scheduled.length, 0, 'scheduled lists no background timer');
    await clock.runAll();
    assert.equal(fired.length, 0, 'runAll() returns at once: nothing but housekeeping is pending');

    clock.setTimeout(() => fired.push(-clock.now()), 250);
    assert.equal(await clock.next(), true);
    assert.deepEqual(fired, [100, 200, -250], 'next() fires the background timers due on the way');
    assert.equal(await clock.next(), false);

    await clock.advance(10_000); // to 10,250: sweeps at 300, 400, … 10,200
    assert.equal(fired.length, 3 + 100, 'advance() fires every background timer due');
    assert.equal(fired.at(-1), 10_200);
    assert.equal(clock.pendingBackground(), 1);
  });

  test('a cleared background timer is gone from the count', () => {
    const clock = createVirtualClock();
    const handle = clock.setBackgroundTimeout?.(() => undefined, 5);
    assert.equal(clock.pendingBackground(), 1);
    handle?.clear();
    assert.equal(clock.pendingBackground(), 0);
  });
});
