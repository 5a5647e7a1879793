import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { DueEntry, DueList, dueListOf, type Clock, type TimerHandle } from '../../src/clock.js';

/** A clock whose timers can park (ref/unref), recording what was done to them. */
function parkingClock() {
  let now = 0;
  const log: string[] = [];
  const timers: { fn: () => void; at: number; cleared: boolean; refed: boolean }[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout(fn, ms): TimerHandle {
      const timer = { fn, at: now + ms, cleared: false, refed: true };
      timers.push(timer);
      log.push(`set ${ms}`);
      return {
        clear: () => {
          timer.cleared = true;
          log.push('clear');
        },
        unref: () => {
          timer.refed = false;
          log.push('unref');
        },
        ref: () => {
          timer.refed = true;
          log.push('ref');
        },
      };
    },
    sleep: () => Promise.resolve(),
  };
  const advance = (ms: number): void => {
    now += ms;
    for (const timer of timers.splice(0)) {
      if (timer.cleared) continue;
      if (timer.at <= now) timer.fn();
      else timers.push(timer);
    }
  };
  const live = () => timers.filter((t) => !t.cleared);
  return { clock, log, advance, live };
}

class Entry extends DueEntry {
  expired = 0;
  expire(): void {
    this.expired++;
  }
}

describe('DueList', () => {
  test('a shared list parks its timer between calls instead of setting and clearing one per call', () => {
    const { clock, log, advance, live } = parkingClock();
    const list = dueListOf(clock, 1_000);
    // One call at a time, each done in 5 ms: one Node timer for all of them.
    for (let i = 0; i < 5; i++) {
      const entry = new Entry();
      list.add(entry, clock.now() + 1_000);
      advance(5);
      list.remove(entry);
    }
    assert.deepEqual(log, [
      'set 1000',
      'unref',
      'ref',
      'unref',
      'ref',
      'unref',
      'ref',
      'unref',
      'ref',
      'unref',
    ]);
    assert.equal(live().length, 1);
    assert.equal(live()[0]?.refed, false, 'with no call in flight it holds nothing open');
  });

  test('the parked timer fires once, finds nothing due and is gone; a later entry still expires on time', () => {
    const { clock, advance, live } = parkingClock();
    const list = dueListOf(clock, 100);
    const first = new Entry();
    list.add(first, 100);
    advance(50);
    list.remove(first);
    const second = new Entry();
    list.add(second, 150);
    advance(50); // the first timer fires at 100: the second is not due, the timer is set for it
    assert.equal(second.expired, 0);
    assert.equal(live().length, 1);
    assert.equal(live()[0]?.refed, true, 'armed for an entry in flight, it holds the process');
    advance(50);
    assert.equal(second.expired, 1);
    assert.equal(live().length, 0);
    list.add(new Entry(), 300);
    const third = new Entry();
    list.add(third, 300);
    list.remove(third);
    advance(1_000);
    assert.equal(live().length, 0, 'a parked timer that fires over an empty list sets nothing again');
  });

  test("a list of one call's own clears its timer: parked timers would pile up", () => {
    const { clock, log, live } = parkingClock();
    const list = new DueList(clock);
    const entry = new Entry();
    list.add(entry, 5_000);
    list.remove(entry);
    assert.deepEqual(log, ['set 5000', 'clear']);
    assert.equal(live().length, 0);
  });

  test('a script that made calls with the default timeouts exits at once after close()', () => {
    // The attempt (10 s) and total (30 s) timeouts of the calls share parked timers: none may
    // hold the process once the calls are done.
    const script = `
      import { createServer } from 'node:http';
      import { createClient } from './src/index.ts';
      const server = createServer((req, res) => res.end('ok')).listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const client = createClient({ baseUrl: 'http://127.0.0.1:' + server.address().port });
      for (let i = 0; i < 20; i++) await (await client.get('/')).text();
      await client.close();
      server.close();
      globalThis.startedExit = performance.now();
      process.on('exit', () => console.log('exit after', Math.round(performance.now() - globalThis.startedExit), 'ms'));
    `;
    const started = Date.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const after = Number(/exit after (\d+) ms/.exec(run.stdout)?.[1]);
    assert.ok(after < 2_000, `exited ${after} ms after its last call; the attempt timeout is 10 s`);
    assert.ok(Date.now() - started < 15_000);
  });
});
