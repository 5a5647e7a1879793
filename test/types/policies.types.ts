/**
 * Type tests, checked by `npm run typecheck` (tsc): every standalone policy is a `Policy`, and a
 * wrap keeps the value type of what it runs.
 */
import { expectTypeOf } from 'expect-type';
import {
  CircuitBreaker,
  CircuitBreakers,
  ConcurrencyLimiter,
  HedgePolicy,
  RateLimiter,
  RetryPolicy,
  TimeoutPolicy,
  wrap,
  type Policy,
  type PolicyContext,
  type PolicyWrap,
} from '../../src/policies/index.js';

expectTypeOf<RetryPolicy>().toExtend<Policy>();
expectTypeOf<CircuitBreaker>().toExtend<Policy>();
expectTypeOf<CircuitBreakers>().toExtend<Policy>();
expectTypeOf<RateLimiter>().toExtend<Policy>();
expectTypeOf<ConcurrencyLimiter>().toExtend<Policy>();
expectTypeOf<HedgePolicy>().toExtend<Policy>();
expectTypeOf<TimeoutPolicy>().toExtend<Policy>();
expectTypeOf<PolicyWrap>().toExtend<Policy>();

declare const retry: RetryPolicy;
declare const breaker: CircuitBreaker;
declare const timeout: TimeoutPolicy;
const wrapped = wrap(retry, breaker, timeout);
expectTypeOf(wrapped.execute(() => 42)).toEqualTypeOf<Promise<number>>();
expectTypeOf(wrap(wrapped, timeout).execute(() => Promise.resolve('x'))).toEqualTypeOf<Promise<string>>();
expectTypeOf<Parameters<Parameters<typeof wrapped.execute>[0]>[0]>().toEqualTypeOf<PolicyContext>();

// A retry's attempt context carries the attempt number as a number, not an optional one.
void retry.execute((ctx) => {
  expectTypeOf(ctx.attempt).toEqualTypeOf<number>();
  expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
  return ctx.attempt;
});

// @ts-expect-error a policy is an object with execute, not a function
wrap(() => 1);
