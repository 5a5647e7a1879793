/**
 * `client.circuit(key?)`: manual control of one circuit, as HTTPower's `open_circuit` and
 * `reset_circuit` give. A thin layer over the breaker's own state machine: `isolate()` is its
 * forced-open state (rejecting until `reset()`), `reset()` closes it with an empty window.
 */
import { invalidRequest } from '../errors.js';
import type { CircuitStateName } from '../policies/circuit-breaker.js';
import type { CircuitControl } from '../pipeline/stage-descriptor.js';

/** One circuit of a client, by key. */
export interface CircuitHandle {
  /** The circuit's key: what `CIRCUIT_OPEN` errors, logs and `inspect().circuits` call it. */
  readonly key: string;
  /**
   * This process's state of the circuit, read at each access (an elapsed open period reads
   * `half-open`). With a shared `store`, another node may hold the circuit open for the fleet:
   * that shows in requests refused with `CIRCUIT_OPEN`, not here.
   */
  readonly state: CircuitStateName;
  /**
   * Opens the circuit until {@link reset}, whatever calls say: every request with this key fails
   * fast with `CIRCUIT_OPEN` (`retryAfterMs: Infinity`) and nothing is sent. Only this client is
   * isolated: with a shared store, other processes keep their own judgement.
   */
  isolate(): void;
  /**
   * Closes the circuit with an empty window and the base open duration, from any state
   * (isolated, open, half-open). With a shared store it also closes the circuit for the fleet, as
   * a passing probe would; the promise settles once the store has answered (a failing store
   * rejects, and this process's circuit is closed anyway).
   */
  reset(): Promise<void>;
}

/** The handle of `key` (the default circuit when undefined); errors name `circuit(key)`. */
export function circuitHandle(control: CircuitControl | undefined, key: unknown): CircuitHandle {
  if (control === undefined) {
    throw invalidRequest(
      'circuit',
      key,
      'a client with a circuit breaker (this one has `circuitBreaker: false`)',
    );
  }
  const resolved = key === undefined ? defaultKey(control) : key;
  if (typeof resolved !== 'string' || resolved === '') {
    throw invalidRequest('circuit(key)', resolved, 'a non-empty string: the key of a circuit');
  }
  const { breakers, store } = control;
  return {
    key: resolved,
    get state() {
      return breakers.peek(resolved)?.state.state ?? 'closed';
    },
    isolate() {
      breakers.get(resolved).isolate();
    },
    async reset() {
      // A breaker never created is closed already: do not create one just to reset it.
      breakers.peek(resolved)?.reset();
      if (store !== undefined) await store.close(resolved);
    },
  };
}

function defaultKey(control: CircuitControl): unknown {
  if (typeof control.key === 'string') return control.key;
  if (typeof control.key === 'function') {
    throw invalidRequest(
      'circuit(key)',
      undefined,
      'a key: `circuitBreaker.key` is a function, so this client has no default circuit',
    );
  }
  if (control.origin === undefined) {
    throw invalidRequest(
      'circuit(key)',
      undefined,
      'a key: without a `baseUrl` this client has no default circuit',
    );
  }
  return control.origin;
}
