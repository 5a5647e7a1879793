import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ConcurrencyLimiter,
  type ConcurrencyToken,
  type LimitAlgorithm,
  type LimitSample,
} from '../../../src/policies/concurrency/index.js';
import { isBulwarkError } from '../../../src/errors.js';
import { createVirtualClock } from '../../../src/testing/virtual-clock.js';

/** A limit that jumps to the next scripted value on every sample, so it rises and falls under load. */
class JumpyLimit implements LimitAlgorithm {
  limit: number;
  samples = 0;
  readonly #script: readonly number[];
  constructor(script: readonly number[]) {
    this.#script = script;
    this.limit = script[0] ?? 1;
  }
  onSample(_sample: LimitSample): void {
    this.samples++;
    this.limit = this.#script[this.samples % this.#script.length] ?? 1;
  }
}

type Op =
  | { kind: 'acquire'; signal: boolean; deadline: number | undefined }
  | { kind: 'report'; pick: number; how: 'success' | 'dropped' | 'ignore' }
  | { kind: 'abort'; pick: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('acquire' as const),
      signal: fc.boolean(),
      deadline: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      pick: fc.nat(),
      how: fc.constantFrom('success' as const, 'dropped' as const, 'ignore' as const),
    }),
  },
  fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1_500 }) }),
);

test('inflight never exceeds the limit at admission, and every token counts once', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 4 }),
      fc.array(op, { minLength: 1, maxLength: 80, size: 'max' }),
      async (script, maxQueue, ops) => {
        const clock = createVirtualClock({ now: 0 });
        const algorithm = new JumpyLimit(script);
        const limiter = new ConcurrencyLimiter({ algorithm, clock, maxQueue, queueTimeout: 1_000 });
        const held: ConcurrencyToken[] = []; // admitted, never reported
        const reported: ConcurrencyToken[] = [];
        const controllers: AbortController[] = [];
        let sampled = 0; // first reports that must reach the algorithm

        const check = (): void => {
          assert.equal(limiter.inflight, held.length, 'inflight = tokens held');
          assert.ok(limiter.queued <= maxQueue);
          if (limiter.queued > 0)
            assert.ok(limiter.inflight >= limiter.limit, 'no waiter left behind a free slot');
          assert.equal(algorithm.samples, sampled, 'one sample per first success/dropped');
        };
        const admitted = (token: ConcurrencyToken): void => {
          held.push(token);
        };

        for (const o of ops) {
          if (o.kind === 'acquire') {
            const controller = o.signal ? new AbortController() : undefined;
            if (controller !== undefined) controllers.push(controller);
            const options = {
              ...(controller === undefined ? {} : { signal: controller.signal }),
              ...(o.deadline === undefined ? {} : { deadline: clock.now() + o.deadline }),
            };
            let result: ConcurrencyToken | Promise<ConcurrencyToken>;
            try {
              result = limiter.acquire(options);
            } catch (err) {
              assert.ok(isBulwarkError(err, 'CONCURRENCY_LIMITED'));
              continue;
            }
            if (result instanceof Promise) {
              result.then(admitted, (err: unknown) => {
                assert.ok(isBulwarkError(err, 'CONCURRENCY_LIMITED') || (err as Error).name === 'AbortError');
              });
            } else {
              assert.ok(limiter.inflight <= limiter.limit, 'synchronous admission within the limit');
              admitted(result);
            }
          } else if (o.kind === 'report') {
            const pool = [...held, ...reported];
            const token = pool[o.pick % Math.max(1, pool.length)];
            if (token === undefined) continue;
            const first = held.indexOf(token);
            const queuedBefore = limiter.queued;
            token[o.how]();
            if (first !== -1) {
              held.splice(first, 1);
              reported.push(token);
              if (o.how !== 'ignore') sampled++;
            }
            // Waiters admitted by this release were admitted under the limit now in force.
            if (limiter.queued < queuedBefore) assert.ok(limiter.inflight <= limiter.limit);
          } else if (o.kind === 'abort') {
            controllers[o.pick % Math.max(1, controllers.length)]?.abort();
          } else {
            await clock.advance(o.ms);
          }
          await clock.flush();
          check();
        }

        // Drain: releasing everything admits or times out every waiter; nothing is left behind.
        while (held.length > 0 || limiter.queued > 0) {
          const token = held.shift();
          if (token !== undefined) {
            token.success();
            sampled++;
          } else await clock.advance(1_000);
          await clock.flush();
        }
        check();
        assert.equal(limiter.inflight, 0);
        assert.equal(clock.pending(), 0, 'no timer left');
      },
    ),
    { numRuns: 150 },
  );
});
