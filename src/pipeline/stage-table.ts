/**
 * The stage table: the pipeline's order, outermost first, as one array of rows, and the client's
 * assembly of it (once per client). A stage that is off is absent from the chain.
 */
import { checkBoolean } from '../validate.js';
import { cacheRow } from './cache-options.js';
import type { CallPolicies } from './call-policies.js';
import { circuitBreakerRow } from './circuit-breaker-options.js';
import { userMiddleware } from './compose.js';
import { concurrencyRow } from './concurrency-options.js';
import { deadlineStage } from './deadline-stage.js';
import { createDedupeStage } from './dedupe-stage.js';
import { createObserveStage } from './observe-stage.js';
import { rateLimitRow } from './rate-limit-options.js';
import { retryRow } from './retry-options.js';
import {
  stageRow,
  type BuiltStage,
  type CircuitControl,
  type ClientSections,
  type OverrideName,
  type RequestParser,
  type StageEnv,
  type StageRow,
} from './stage-descriptor.js';
import type { Stage } from './types.js';

/** The user's `use`, outermost: it sees every retry as one call. */
const useRow = stageRow<true, { stages: BuiltStage[] }>({
  name: 'use',
  parse: (_options, env) => (env.use.length === 0 ? undefined : true),
  build: (_on, env) => ({
    stages: env.use.map((m, i) => ({ name: 'use', middleware: userMiddleware(m, i) })),
  }),
});

/** The call's span, logs and `bulwark:request` channel. */
const observeRow = stageRow<true, { stages: BuiltStage[] }>({
  name: 'observe',
  parse: () => true,
  build: () => ({ stages: [{ name: 'observe', middleware: createObserveStage() }] }),
});

/** Identical in-flight GET/HEAD share one request: off unless `dedupe: true`. */
const dedupeRow = stageRow<true, { stages: BuiltStage[] }>({
  name: 'dedupe',
  parse: (options) => (checkBoolean('options', 'dedupe', options.dedupe) === true ? true : undefined),
  build: (_on, env) => ({
    stages: [{ name: 'dedupe', middleware: createDedupeStage(env.deadlineHeader, env.requestIdHeader) }],
  }),
});

/** The total timeout and the ambient deadline: around every retry. */
const deadlineRow = stageRow<true, { stages: BuiltStage[] }>({
  name: 'deadline',
  parse: () => true,
  build: () => ({ stages: [{ name: 'deadline', middleware: deadlineStage }] }),
});

/**
 * The built-in stages, outermost first (DESIGN.md §2); the attempt stage (attempt timeout,
 * deadline and trace propagation, the transport) is the terminal inside the last.
 */
export const STAGE_TABLE: readonly StageRow[] = [
  useRow,
  observeRow,
  cacheRow,
  dedupeRow,
  deadlineRow,
  retryRow,
  circuitBreakerRow,
  rateLimitRow,
  concurrencyRow,
];

/** The table installed on one client. */
export interface AssembledStages {
  /** Every built stage, outermost first: `inspect()` sections and `close()`. */
  readonly stages: readonly BuiltStage[];
  /** The middleware of `stages`, to compose around the attempt stage. */
  readonly middleware: readonly Stage[];
  /** The circuits, for `client.circuit(key)`; undefined with `circuitBreaker: false`. */
  readonly circuits: CircuitControl | undefined;
  /** The call's policies: the client's, or a request's overrides parsed by their rows. */
  readonly policies: (request: RequestSections) => CallPolicies;
}

/** The options of a request the rows read (each row's own, and `throwHttpErrors`). */
export type RequestSections = { readonly [N in OverrideName | 'throwHttpErrors']?: unknown };

/** Parses each row's section of `options` and builds what is on, in the table's order. */
export function assembleStages(
  options: ClientSections,
  env: StageEnv,
  throwHttpErrors: boolean,
  table: readonly StageRow[] = STAGE_TABLE,
): AssembledStages {
  const stages: BuiltStage[] = [];
  const parsers: RequestParser[] = [];
  let circuits: CircuitControl | undefined;
  for (const row of table) {
    const installed = row.install(options, env);
    stages.push(...installed.stages);
    if (installed.request !== undefined) parsers.push(installed.request);
    circuits ??= installed.circuits;
  }
  return {
    stages,
    middleware: stages.map((s) => s.middleware),
    circuits,
    policies: requestPolicies(parsers, throwHttpErrors),
  };
}

/**
 * The per-call policies: one shared object while a request overrides nothing (the common call
 * allocates nothing here), else a copy with each given override parsed by its row.
 */
function requestPolicies(
  parsers: readonly RequestParser[],
  throwHttpErrors: boolean,
): (request: RequestSections) => CallPolicies {
  const defaults: CallPolicies = {
    retry: undefined,
    circuitBreaker: undefined,
    rateLimit: undefined,
    cache: false,
    throwHttpErrors,
  };
  for (const parser of parsers) assign(defaults, parser, undefined);
  return (request) => {
    let own: CallPolicies | undefined;
    for (const parser of parsers) {
      const value = request[parser.name];
      if (value === undefined) continue;
      own ??= { ...defaults };
      assign(own, parser, value);
    }
    if (request.throwHttpErrors !== undefined) {
      own ??= { ...defaults };
      own.throwHttpErrors =
        checkBoolean('request', 'throwHttpErrors', request.throwHttpErrors) ?? throwHttpErrors;
    }
    return own ?? defaults;
  };
}

function assign<N extends OverrideName>(
  policies: CallPolicies,
  parser: RequestParser<N>,
  value: unknown,
): void {
  policies[parser.name] = parser.parse(value);
}
