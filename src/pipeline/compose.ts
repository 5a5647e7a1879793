import type { CallContext, Middleware, Next } from './types.js';

/**
 * Composes middleware outermost first around `terminal`. The chain is built once per client,
 * so a call allocates no closures for it.
 */
export function compose(stages: readonly Middleware[], terminal: Next): Next {
  let next: Next = terminal;
  for (let i = stages.length - 1; i >= 0; i--) {
    const stage = stages[i];
    if (stage === undefined) continue;
    const inner = next;
    next = (ctx: CallContext) => stage(ctx, inner);
  }
  return next;
}
