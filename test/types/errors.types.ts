/**
 * Type tests of errors and inspect(), checked by `npm run typecheck`: a guard or a `switch` on
 * `code` gives the fields that code guarantees, and inspect() is typed section by section.
 */
import { expectTypeOf } from 'expect-type';
import {
  BulwarkError,
  createClient,
  isBulwarkError,
  type BulwarkResponse,
  type SafeResult,
} from '../../src/index.js';
import type { CircuitSnapshot, RateLimitKeySnapshot } from '../../src/policies/index.js';

declare const error: unknown;

if (isBulwarkError(error, 'CIRCUIT_OPEN')) {
  expectTypeOf(error.code).toEqualTypeOf<'CIRCUIT_OPEN'>();
  expectTypeOf(error.retryAfterMs).toEqualTypeOf<number>();
  expectTypeOf(error.key).toEqualTypeOf<string>();
}
if (isBulwarkError(error, 'RATE_LIMITED')) expectTypeOf(error.retryAfterMs).toEqualTypeOf<number>();
if (isBulwarkError(error, 'HTTP_STATUS')) expectTypeOf(error.response).toEqualTypeOf<BulwarkResponse>();
if (isBulwarkError(error, 'NETWORK')) {
  expectTypeOf(error.cause).toExtend<Error>();
  expectTypeOf(error.cause.code).toEqualTypeOf<string | undefined>();
  expectTypeOf(error.sent).toEqualTypeOf<boolean>();
}
if (isBulwarkError(error, 'INVALID_OPTIONS')) expectTypeOf(error.path).toEqualTypeOf<string>();
// A code without guaranteed fields keeps them optional.
if (isBulwarkError(error, 'ABORTED')) expectTypeOf(error.retryAfterMs).toEqualTypeOf<number | undefined>();
// Without a guard, a field is only as sure as its code.
if (isBulwarkError(error)) expectTypeOf(error.retryAfterMs).toEqualTypeOf<number | undefined>();

// `switch (e.code)` narrows like the guard, and so does `instanceof` (Symbol.hasInstance).
if (error instanceof BulwarkError) {
  switch (error.code) {
    case 'CIRCUIT_OPEN':
    case 'RATE_LIMITED':
      expectTypeOf(error.retryAfterMs).toEqualTypeOf<number>();
      break;
    case 'CONCURRENCY_LIMITED':
      expectTypeOf(error.limit).toEqualTypeOf<number>();
      expectTypeOf(error.inflight).toEqualTypeOf<number>();
      break;
    case 'TIMEOUT':
    case 'ATTEMPT_TIMEOUT':
      expectTypeOf(error.timeoutMs).toEqualTypeOf<number>();
      break;
    case 'DEADLINE_EXCEEDED':
      expectTypeOf(error.deadline).toEqualTypeOf<number>();
      break;
    case 'HTTP_STATUS':
      expectTypeOf(error.response.status).toEqualTypeOf<number>();
      break;
    default:
      break;
  }
}

declare const result: SafeResult;
if (!result.ok && result.error.code === 'RATE_LIMITED') {
  expectTypeOf(result.error.retryAfterMs).toEqualTypeOf<number>();
}

// A bulwark error is still an Error and a BulwarkError.
expectTypeOf(new BulwarkError('ABORTED', 'stopped')).toExtend<Error>();

const client = createClient({
  baseUrl: 'https://api.example.com',
  rateLimit: { requests: 10, per: 'second' },
});
const view = client.inspect();
expectTypeOf(view.name).toEqualTypeOf<string>();
expectTypeOf(view.rateLimit?.keys).toEqualTypeOf<readonly RateLimitKeySnapshot[] | undefined>();
expectTypeOf(view.circuits).toEqualTypeOf<readonly CircuitSnapshot[] | undefined>();
expectTypeOf(view.retry?.budgets[0]?.balance).toEqualTypeOf<number | undefined>();
expectTypeOf(view.concurrency?.inflight).toEqualTypeOf<number | undefined>();
// inspect() has no untyped sections.
expectTypeOf(view).not.toHaveProperty('somethingElse');
