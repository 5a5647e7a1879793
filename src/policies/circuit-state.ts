// The states of a circuit and the record of a change between them: shared by the breaker, its options and every sink that reports a change.

/** The state of a circuit. */
export type CircuitState =
  | { readonly state: 'closed' }
  /** Rejecting until `until` (clock ms). */
  | { readonly state: 'open'; readonly until: number }
  /** Admitting `halfOpenRequests` probes; `probes` are in flight. */
  | { readonly state: 'half-open'; readonly probes: number }
  /** Opened by hand with `isolate()`: rejects until `reset()`. */
  | { readonly state: 'isolated' };

/** The name of a {@link CircuitState}. */
export type CircuitStateName = CircuitState['state'];

/** Why a circuit changed state. */
export type CircuitChangeReason =
  | 'consecutive-failures'
  | 'failure-threshold'
  | 'failure-ratio'
  | 'open-elapsed'
  | 'probe-failed'
  | 'probe-released'
  | 'probes-passed'
  | 'isolated'
  | 'reset';

/** A state change, for metrics and the `bulwark:circuit` channel. */
export interface CircuitStateChange {
  readonly key: string;
  readonly from: CircuitStateName;
  readonly to: CircuitStateName;
  readonly reason: CircuitChangeReason;
  /** Clock ms of the change. */
  readonly at: number;
  /** On opening after failures: the window's failure ratio then (0–1). */
  readonly failureRatio?: number;
  /** On opening: how long the circuit stays open, ms. */
  readonly openMs?: number;
}
