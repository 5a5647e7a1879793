/**
 * Single flight (request coalescing): identical calls made while one is in flight share it.
 * Unlike HTTPower's dedupe, nothing is kept after completion (a later identical call runs
 * again) and the entry is removed on every exit path, a synchronous throw included, so a failure
 * can never leave later callers waiting on a flight that will not land.
 */

/** Options of {@link SingleFlight}. */
export interface SingleFlightOptions<V> {
  /**
   * Gives each extra caller its own copy of the shared value (the HTTP glue hands each one its
   * own response body). Called synchronously, once per caller after the first, as soon as the
   * flight lands and before any caller resumes; the first caller receives the original. A copy
   * that throws rejects only that caller.
   * @default none: every caller receives the same value
   */
  share?: (value: V) => V;
}

type Copy<V> = { readonly ok: true; readonly value: V } | { readonly ok: false; readonly error: unknown };

interface Flight<V> {
  callers: number;
  readonly landed: Promise<V>;
  copies: Copy<V>[] | undefined;
}

/**
 * Shares one in-flight promise per key among identical callers.
 * @example
 * const flights = new SingleFlight<string, User>();
 * const [a, b] = await Promise.all([flights.run('u1', load), flights.run('u1', load)]); // one load
 */
export class SingleFlight<K, V> {
  readonly #flights = new Map<K, Flight<V>>();
  readonly #share: ((value: V) => V) | undefined;

  constructor(options: SingleFlightOptions<V> = {}) {
    this.#share = options.share;
  }

  /** Keys in flight now. */
  get size(): number {
    return this.#flights.size;
  }

  /** True while a flight for `key` is running. */
  has(key: K): boolean {
    return this.#flights.has(key);
  }

  /**
   * Runs `fn`, or joins the flight already running for `key`. Every caller settles with the
   * flight's value (or its own copy, see `share`) or its error.
   */
  run(key: K, fn: () => Promise<V>): Promise<V> {
    const running = this.#flights.get(key);
    if (running !== undefined) {
      const index = running.callers++ - 1;
      return running.landed.then(() => takeCopy(running, index));
    }

    let start!: (value: V | PromiseLike<V>) => void;
    const launched = new Promise<V>((resolve) => {
      start = resolve;
    });
    const flight: Flight<V> = {
      callers: 1,
      copies: undefined,
      landed: launched.then(
        (value) => {
          this.#land(key, flight);
          if (flight.callers > 1 && this.#share !== undefined)
            flight.copies = copies(this.#share, value, flight.callers - 1);
          return value;
        },
        (error: unknown) => {
          this.#land(key, flight);
          throw error;
        },
      ),
    };
    // Registered before `fn` runs, so a caller that joins from inside `fn` shares this flight.
    this.#flights.set(key, flight);
    try {
      start(fn());
    } catch (error) {
      this.#land(key, flight);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what `fn` threw, unchanged
      start(Promise.reject(error));
    }
    return flight.landed;
  }

  #land(key: K, flight: Flight<V>): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }
}

function copies<V>(share: (value: V) => V, value: V, count: number): Copy<V>[] {
  const out: Copy<V>[] = [];
  for (let i = 0; i < count; i++) {
    try {
      out.push({ ok: true, value: share(value) });
    } catch (error) {
      out.push({ ok: false, error });
    }
  }
  return out;
}

function takeCopy<V>(flight: Flight<V>, index: number): V | Promise<V> {
  const copy = flight.copies?.[index];
  // Without `share`, every caller gets the very value the flight landed with.
  if (copy === undefined) return flight.landed;
  if (copy.ok) return copy.value;
  throw copy.error;
}
