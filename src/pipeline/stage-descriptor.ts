/**
 * The shape of one row of the stage table: a descriptor says how its stage parses its client
 * option, how it is built, and how it reads a request's override of it.
 */
import type { Clock, RandomSource } from '../clock.js';
import type { CircuitBreakers } from '../policies/circuit-breakers.js';
import type { CircuitStore } from '../policies/store-contract.js';
import type { CallPolicies } from './call-policies.js';
import type { CallEvents } from './events.js';
import type { PolicyKey } from './policy-key.js';
import type { RetryGate, RetryWaker } from './retry-stage.js';
import type { Middleware, Stage } from './types.js';

/** The client's options as the rows read them: each row reads its own section. */
export type ClientSections = Readonly<Record<string, unknown>>;

/** What every row may use while it is built: the client's shared parts, parsed before the rows. */
export interface StageEnv {
  readonly name: string;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly events: CallEvents;
  readonly deadlineHeader: string | false;
  readonly requestIdHeader: string | false;
  /** The `baseUrl`'s origin: the default circuit of `client.circuit()`. */
  readonly origin: string | undefined;
  /** The user's middleware, checked. */
  readonly use: readonly Middleware[];
  /**
   * Filled by the rows inside the retry (breaker, concurrency): asked before a retry waits, so a
   * retry they would refuse is not waited for.
   */
  readonly gates: RetryGate[];
  /** Filled by the rows inside the retry (breaker): end a retry's wait once it would be refused. */
  readonly wakers: RetryWaker[];
}

/** A stage as the client holds it: its middleware, and its part of `inspect()` and `close()`. */
export interface BuiltStage {
  /** Its section of `inspect()` (named in `ClientInspection`). */
  readonly name: string;
  readonly middleware: Stage;
  inspect?(): unknown;
  close?(): void | Promise<void>;
}

/** What the client keeps to answer `circuit(key?)`. */
export interface CircuitControl {
  readonly breakers: CircuitBreakers;
  readonly store: CircuitStore | undefined;
  /** The client's `circuitBreaker.key`. */
  readonly key: PolicyKey | undefined;
  /** The baseUrl's origin, the default key. */
  readonly origin: string | undefined;
}

/** What a row's `build` makes: its stages (outermost first), and the breaker's circuits. */
export interface BuiltRow {
  readonly stages: readonly BuiltStage[];
  /** The breaker row only: the circuits `client.circuit(key?)` controls. */
  readonly circuits?: CircuitControl;
}

/** The names of the rows that take a per-request option: one field each in `CallPolicies`. */
export type OverrideName = Exclude<keyof CallPolicies, 'throwHttpErrors'>;

/**
 * A stage of the table. `parse` reads the client's options once (its own section); `undefined`
 * leaves the stage out of the chain, so a stage that is off costs a call nothing. `build` makes
 * the stage from what `parse` returned.
 */
export interface StageDescriptor<S, B extends BuiltRow = BuiltRow> {
  /** The stage's name: its client option, when it has one. */
  readonly name: string;
  parse(options: ClientSections, env: StageEnv): S | undefined;
  build(settings: S, env: StageEnv): B;
}

/**
 * A stage with a per-request option of the same name (`retry`, `circuitBreaker`, `rateLimit`,
 * `cache`). `request` checks a request's value once per call that gives one, and the value
 * `undefined` once per client (the call's default); `built` is undefined when the stage is off.
 * Its result is the call's typed field of `CallPolicies`, which the stage reads.
 */
export interface PolicyStageDescriptor<
  N extends OverrideName,
  S,
  B extends BuiltRow = BuiltRow,
> extends StageDescriptor<S, B> {
  readonly name: N;
  request(value: unknown, built: B | undefined): CallPolicies[N];
}

/** A request's option parser bound to the built stage: the call's `policies[name]`. */
export interface RequestParser<N extends OverrideName = OverrideName> {
  readonly name: N;
  parse(value: unknown): CallPolicies[N];
}

/** A row once installed on a client. */
export interface InstalledRow extends BuiltRow {
  readonly request: RequestParser | undefined;
}

/** A row of the table: its descriptor with the settings' type sealed in. */
export interface StageRow {
  readonly name: string;
  install(options: ClientSections, env: StageEnv): InstalledRow;
}

const NOTHING: BuiltRow = { stages: [] };

/** A row of a stage without a per-request option. */
export function stageRow<S, B extends BuiltRow>(descriptor: StageDescriptor<S, B>): StageRow {
  return {
    name: descriptor.name,
    install: (options, env) => {
      const settings = descriptor.parse(options, env);
      const built = settings === undefined ? NOTHING : descriptor.build(settings, env);
      return { ...built, request: undefined };
    },
  };
}

/** A row of a stage with a per-request option. */
export function policyRow<N extends OverrideName, S, B extends BuiltRow>(
  descriptor: PolicyStageDescriptor<N, S, B>,
): StageRow {
  return {
    name: descriptor.name,
    install: (options, env) => {
      const settings = descriptor.parse(options, env);
      const built = settings === undefined ? undefined : descriptor.build(settings, env);
      const request: RequestParser<N> = {
        name: descriptor.name,
        parse: (value) => descriptor.request(value, built),
      };
      return { ...(built ?? NOTHING), request };
    },
  };
}
