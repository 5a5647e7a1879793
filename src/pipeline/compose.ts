// compose: the middleware chain, built once per client around the transport.
import type { BulwarkResponse } from '../http/response.js';
import { callbackFailed } from '../errors.js';
import type { CallContext, Middleware, Next, Stage, StageNext } from './types.js';

/**
 * Composes middleware outermost first around `terminal`. The chain is built once per client,
 * so a call allocates no closures for it.
 */
export function compose(stages: readonly Stage[], terminal: StageNext): StageNext {
  let next: StageNext = terminal;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (stage === undefined) continue;
    const inner = next;
    next = (ctx: CallContext) => stage(ctx, inner);
  }
  return next;
}

/**
 * Wraps the caller's `use[index]` middleware: what it throws (synchronously or as a rejection)
 * ends the call with `CALLBACK_FAILED` (`path: 'use[index]'`, the thrown value as `cause`), not
 * with `NETWORK`. A `BulwarkError` it throws or passes on from `next` is kept as it is.
 */
export function userMiddleware(middleware: Middleware, index: number): Stage {
  const path = `use[${index}]`;
  // Built once per client: a call pays one `then`, no closure.
  const fail = (thrown: unknown): never => {
    throw callbackFailed(path, thrown);
  };
  return (ctx, next) => {
    let result: Promise<BulwarkResponse>;
    try {
      // The context a middleware hands to `next` is the one it was given (or a copy of it): the
      // call's internals travel with it, unseen by the middleware's types.
      result = middleware(ctx, next as Next);
    } catch (thrown) {
      return Promise.reject(callbackFailed(path, thrown));
    }
    return Promise.resolve(result).then(undefined, fail);
  };
}
