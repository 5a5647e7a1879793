/**
 * The calls of one client between `request()` and their settling, so that close() and
 * destroy() can end them and wait for them: a call waiting to retry has a timer, and a client
 * is not closed while anything of it is left.
 */
import type { BulwarkError } from '../errors.js';
import { cancelCall } from '../pipeline/cancel.js';
import type { CallContext } from '../pipeline/types.js';

/** A set of calls in flight; adding and removing one is all the happy path pays. */
export class InFlightCalls {
  readonly #calls = new Set<CallContext>();
  /** The calls {@link end} cancelled, until they settle; then `#drained` runs. */
  readonly #ending = new Set<CallContext>();
  #drained: (() => void) | undefined = undefined;

  /** A call starts. */
  add(ctx: CallContext): void {
    this.#calls.add(ctx);
  }

  /** A call settled (resolved at its headers, or rejected). */
  settled(ctx: CallContext): void {
    this.#calls.delete(ctx);
    if (this.#ending.delete(ctx) && this.#ending.size === 0) {
      const drained = this.#drained;
      this.#drained = undefined;
      drained?.();
    }
  }

  /**
   * Cancels every call `which` selects with its `reason`, and resolves once all the calls ended
   * so far (by this or an earlier `end`) have settled.
   */
  end(which: (ctx: CallContext) => boolean, reason: (ctx: CallContext) => BulwarkError): Promise<void> {
    for (const ctx of this.#calls) {
      if (!which(ctx)) continue;
      this.#ending.add(ctx);
      cancelCall(ctx, reason(ctx));
    }
    if (this.#ending.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.#drained;
      this.#drained = () => {
        previous?.();
        resolve();
      };
    });
  }
}
