/**
 * The calls of one client between `request()` and their settling, so that close() and
 * destroy() can end them and wait for them: a call waiting to retry has a timer, and a client
 * is not closed while anything of it is left.
 */
import type { BulwarkError } from '../errors.js';
import { cancelCall } from '../pipeline/cancel.js';
import type { CallContext } from '../pipeline/types.js';

/** The calls in flight; adding and removing one is all the happy path pays. */
export class InFlightCalls {
  // An array in no order, each call knowing its slot: adding and removing are O(1) with no
  // hashing (a Set gave every call context an identity hash on the way in).
  readonly #calls: CallContext[] = [];
  /** The calls {@link end} cancelled, until they settle; then `#drained` runs. */
  readonly #ending = new Set<CallContext>();
  #drained: (() => void) | undefined = undefined;

  /** A call starts. */
  add(ctx: CallContext): void {
    ctx.inFlightSlot = this.#calls.length;
    this.#calls.push(ctx);
  }

  /** A call settled (resolved at its headers, or rejected). */
  settled(ctx: CallContext): void {
    const slot = ctx.inFlightSlot ?? -1;
    if (slot < 0) return;
    ctx.inFlightSlot = -1;
    const last = this.#calls.pop() as CallContext;
    if (last !== ctx) {
      this.#calls[slot] = last;
      last.inFlightSlot = slot;
    }
    if (this.#ending.size > 0 && this.#ending.delete(ctx) && this.#ending.size === 0) {
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
    // A copy: cancelling a call may settle it, which moves the array's last call into its slot.
    for (const ctx of [...this.#calls]) {
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
