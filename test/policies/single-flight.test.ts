import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SingleFlight } from '../../src/policies/single-flight.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  test('identical callers in flight share one call and all get its value', async () => {
    const flights = new SingleFlight<string, { body: string }>();
    const d = deferred<{ body: string }>();
    let calls = 0;
    const load = () => {
      calls++;
      return d.promise;
    };
    const all = [flights.run('GET /a', load), flights.run('GET /a', load), flights.run('GET /a', load)];
    assert.equal(calls, 1);
    assert.ok(flights.has('GET /a'));
    const value = { body: 'a' };
    d.resolve(value);
    assert.deepEqual(await Promise.all(all), [value, value, value]);
    assert.equal(flights.size, 0);
  });

  test('nothing is kept after completion: the next identical call runs again', async () => {
    const flights = new SingleFlight<string, number>();
    let calls = 0;
    const load = () => Promise.resolve(++calls);
    assert.equal(await flights.run('k', load), 1);
    assert.equal(flights.has('k'), false);
    assert.equal(await flights.run('k', load), 2);
  });

  test('different keys fly separately', async () => {
    const flights = new SingleFlight<string, string>();
    const [a, b] = await Promise.all([
      flights.run('a', () => Promise.resolve('A')),
      flights.run('b', () => Promise.resolve('B')),
    ]);
    assert.deepEqual([a, b], ['A', 'B']);
  });

  test('a rejection reaches every caller and clears the entry', async () => {
    const flights = new SingleFlight<string, string>();
    const d = deferred<string>();
    const failure = new Error('503');
    const all = [flights.run('k', () => d.promise), flights.run('k', () => d.promise)].map((p) =>
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
    d.reject(failure);
    assert.deepEqual(await Promise.all(all), [failure, failure]);
    assert.equal(flights.size, 0);
    assert.equal(await flights.run('k', () => Promise.resolve('again')), 'again');
  });

  test('a synchronous throw rejects the caller and leaves no entry, even for an instant', async () => {
    const flights = new SingleFlight<string, string>();
    const failure = new Error('bad request');
    const first = flights.run('k', () => {
      throw failure;
    });
    assert.equal(flights.size, 0, 'cleared before run() returned');
    await assert.rejects(first, (e: unknown) => e === failure);
    let calls = 0;
    const second = await flights.run('k', () => {
      calls++;
      return Promise.resolve('fresh');
    });
    assert.equal(second, 'fresh');
    assert.equal(calls, 1);
  });

  test('a caller joining from inside the call shares it', async () => {
    const flights = new SingleFlight<string, string>();
    let inner: Promise<string> | undefined;
    let innerCalls = 0;
    const outer = flights.run('k', () => {
      inner = flights.run('k', () => {
        innerCalls++;
        return Promise.resolve('inner');
      });
      return Promise.resolve('outer');
    });
    assert.equal(await outer, 'outer');
    assert.equal(await inner, 'outer');
    assert.equal(innerCalls, 0);
  });

  test('share gives each extra caller its own copy; the first caller gets the original', async () => {
    let copies = 0;
    const flights = new SingleFlight<string, { body: string; copy: number }>({
      share: (v) => ({ ...v, copy: ++copies }),
    });
    const d = deferred<{ body: string; copy: number }>();
    const original = { body: 'x', copy: 0 };
    const all = [
      flights.run('k', () => d.promise),
      flights.run('k', () => d.promise),
      flights.run('k', () => d.promise),
    ];
    d.resolve(original);
    const [a, b, c] = await Promise.all(all);
    assert.equal(a, original);
    assert.deepEqual([b?.copy, c?.copy], [1, 2]);
    assert.notEqual(b, c);
    assert.equal(copies, 2);
  });

  test('share is not called for a lone caller, and runs before any caller resumes', async () => {
    const order: string[] = [];
    const flights = new SingleFlight<string, string>({
      share: (v) => {
        order.push('share');
        return `${v} copy`;
      },
    });
    assert.equal(await flights.run('alone', () => Promise.resolve('v')), 'v');
    assert.equal(order.length, 0);
    const d = deferred<string>();
    const first = flights
      .run('k', () => d.promise)
      .then((v) => {
        order.push('first caller');
        return v;
      });
    const second = flights.run('k', () => d.promise);
    d.resolve('v');
    assert.deepEqual(await Promise.all([first, second]), ['v', 'v copy']);
    assert.deepEqual(order, ['share', 'first caller']);
  });

  test('a copy that throws rejects only its own caller', async () => {
    let n = 0;
    const flights = new SingleFlight<string, string>({
      share: (v) => {
        n++;
        if (n === 1) throw new Error('cannot copy');
        return `${v}#${n}`;
      },
    });
    const d = deferred<string>();
    const all = [0, 1, 2].map(() =>
      flights
        .run('k', () => d.promise)
        .then(
          (v) => v,
          (e: unknown) => (e as Error).message,
        ),
    );
    d.resolve('v');
    assert.deepEqual(await Promise.all(all), ['v', 'cannot copy', 'v#2']);
  });
});
