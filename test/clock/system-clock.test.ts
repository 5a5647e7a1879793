import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/clock.js';

void test('a system timer never fires before its delay, fractional delays included', async () => {
  // Node truncates a fractional delay (5.9 ms runs as 5 ms) and counts from the loop's cached
  // time; a deadline enforced that way would cancel a call before its time.
  const early: string[] = [];
  for (let i = 0; i < 60; i++) {
    const ms = 2 + (i % 4) + 0.9;
    // Every other timer is set after 1 ms of work in the same turn: the loop's cached time is
    // then 1 ms behind, as on a busy process.
    if (i % 2 === 1) {
      const until = performance.now() + 1;
      while (performance.now() < until);
    }
    const start = systemClock.now();
    const elapsed = await new Promise<number>((resolve) => {
      systemClock.setTimeout(() => {
        resolve(systemClock.now() - start);
      }, ms);
    });
    if (elapsed < ms) early.push(`${ms} ms fired after ${elapsed.toFixed(3)} ms`);
  }
  assert.deepEqual(early, []);
});
