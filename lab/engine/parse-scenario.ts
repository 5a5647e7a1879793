/**
 * Validates a scenario document. Every refusal names the field (`upstream.phases[1].errorRate`),
 * the value found and what is allowed, so a user fixing a hand-written file needs no source code.
 */
import { describeValue } from '../../src/errors.js';
import {
  FAULTS,
  checkText,
  chooseBucket,
  type ClientConfig,
  type Latency,
  type Load,
  type Phase,
  type Scenario,
} from './scenario.js';
import { DEFAULT_CLIENT, PLAIN_CLIENT } from './scenario.js';

/** A scenario or client-configuration file that cannot be used. `field` is the path of the offending value. */
export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly field: string;
  constructor(source: string, field: string, problem: string) {
    super(`${source}: \`${field}\` ${problem}`);
    this.field = field;
  }
}

type Doc = Record<string, unknown>;

const TOP_FIELDS = [
  'name',
  'description',
  'notes',
  'seed',
  'duration',
  'bucket',
  'load',
  'request',
  'upstream',
  'clients',
];
const PHASE_FIELDS: Record<Phase['fault'], readonly string[]> = {
  healthy: ['latency'],
  outage: ['mode'],
  flaky: ['errorRate', 'resetRate', 'status', 'latency'],
  slow: ['startLatency', 'endLatency'],
  overload: ['capacity', 'serviceTime', 'queue'],
  throttle: ['quota', 'window', 'latency'],
  deadline: ['hopLatency', 'downstreamLatency'],
  blackhole: [],
  resets: ['every', 'latency'],
};
const PRESETS: Record<string, ClientConfig> = { plain: PLAIN_CLIENT, defaults: DEFAULT_CLIENT };

class Reader {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  fail(field: string, value: unknown, expected: string): never {
    const found = value === undefined ? 'is missing' : `is ${describeValue(value)}`;
    throw new ScenarioError(this.source, field, `${found}, expected ${expected}`);
  }

  object(value: unknown, field: string, known: readonly string[]): Doc {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(field, value, 'an object');
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        const where = field === '' ? key : `${field}.${key}`;
        throw new ScenarioError(this.source, where, `is not a known field (known here: ${known.join(', ')})`);
      }
    }
    return value as Doc;
  }

  number(
    doc: Doc,
    field: string,
    path: string,
    min: number,
    max: number,
    fallback?: number,
    integer = false,
  ): number {
    const value = doc[field];
    if (value === undefined && fallback !== undefined) return fallback;
    const ok = typeof value === 'number' && (integer ? Number.isInteger(value) : Number.isFinite(value));
    if (!ok || value < min || value > max)
      this.fail(path, value, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
    return value;
  }

  integer(doc: Doc, field: string, path: string, min: number, max: number, fallback?: number): number {
    return this.number(doc, field, path, min, max, fallback, true);
  }

  string(
    doc: Doc,
    field: string,
    path: string,
    pattern: RegExp,
    expected: string,
    fallback?: string,
  ): string {
    const value = doc[field];
    if (value === undefined && fallback !== undefined) return fallback;
    if (typeof value !== 'string' || !pattern.test(value)) this.fail(path, value, expected);
    return value;
  }

  latency(doc: Doc, field: string, path: string, fallback: Latency): Latency {
    const value = doc[field];
    if (value === undefined) return fallback;
    const expected = 'milliseconds: a number from 0 to 120000, or [min, max]';
    const ok = (x: unknown): x is number =>
      typeof x === 'number' && Number.isFinite(x) && x >= 0 && x <= 120_000;
    if (ok(value)) return value;
    if (Array.isArray(value) && value.length === 2 && ok(value[0]) && ok(value[1]) && value[0] <= value[1]) {
      return [value[0], value[1]];
    }
    return this.fail(path, value, expected);
  }
}

/**
 * Parses and validates a scenario document (already JSON-decoded).
 * @param source a name for error messages, usually the file path
 * @throws ScenarioError naming the first field that is wrong
 */
export function parseScenario(input: unknown, source: string): Scenario {
  const r = new Reader(source);
  const doc = r.object(input, '', TOP_FIELDS);
  const name = r.string(
    doc,
    'name',
    'name',
    /^[a-z0-9][a-z0-9_-]{0,63}$/i,
    'a name of letters, digits, - and _',
  );
  const description = r.string(doc, 'description', 'description', /^[^]{0,2000}$/, 'a string', '');
  const notes = r.string(doc, 'notes', 'notes', /^[^]{0,2000}$/, 'a string', '');
  const seed = r.integer(doc, 'seed', 'seed', 0, 2 ** 32 - 1, 1);
  const duration = r.number(doc, 'duration', 'duration', 1, 3600) * 1000;
  const bucket =
    doc['bucket'] === undefined ? chooseBucket(duration) : r.integer(doc, 'bucket', 'bucket', 50, 60_000);
  if (duration / bucket > 2000)
    r.fail('bucket', bucket, `at least ${Math.ceil(duration / 2000)} ms for this duration`);
  const load = parseLoad(r, doc['load']);
  const req = r.object(doc['request'] ?? {}, 'request', ['method', 'path', 'deadline']);
  const method = r.string(
    req,
    'method',
    'request.method',
    /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS)$/,
    'an HTTP method such as "GET"',
    'GET',
  );
  const path = r.string(req, 'path', 'request.path', /^\/[\x21-\x7e]*$/, 'a path starting with "/"', '/');
  const deadline =
    req['deadline'] === undefined ? undefined : r.integer(req, 'deadline', 'request.deadline', 1, 600_000);
  const up = r.object(doc['upstream'] ?? {}, 'upstream', ['latency', 'phases']);
  const latency = r.latency(up, 'latency', 'upstream.latency', [2, 8]);
  const phases = parsePhases(r, up['phases'] ?? [], duration, latency);
  for (const [field, text] of [
    ['description', description],
    ['notes', notes],
  ] as const) {
    const problem = checkText(text, phases);
    if (problem !== undefined) throw new ScenarioError(source, field, `has a placeholder ${problem}`);
  }
  const clients = parseClients(r, doc['clients'] ?? ['plain', 'defaults']);
  const request = deadline === undefined ? { method, path } : { method, path, deadline };
  return { name, description, notes, seed, duration, bucket, load, request, phases, latency, clients };
}

function parseLoad(r: Reader, value: unknown): Load {
  const doc = r.object(value, 'load', ['rate', 'concurrency', 'think']);
  if (doc['rate'] !== undefined && doc['concurrency'] !== undefined) {
    throw new ScenarioError(r.source, 'load', 'has both `rate` and `concurrency`; give one');
  }
  if (doc['concurrency'] !== undefined) {
    const workers = r.integer(doc, 'concurrency', 'load.concurrency', 1, 1000);
    return { kind: 'concurrency', workers, think: r.number(doc, 'think', 'load.think', 0, 60_000, 0) };
  }
  const rate = doc['rate'];
  const ok = (x: unknown): x is number => typeof x === 'number' && x > 0 && x <= 5000;
  if (ok(rate)) return { kind: 'rate', from: rate, to: rate };
  if (Array.isArray(rate) && rate.length === 2 && ok(rate[0]) && ok(rate[1]))
    return { kind: 'rate', from: rate[0], to: rate[1] };
  return r.fail('load.rate', rate, 'calls per second: a number above 0 up to 5000, or [from, to] to ramp');
}

function parsePhases(r: Reader, value: unknown, duration: number, latency: Latency): Phase[] {
  if (!Array.isArray(value)) r.fail('upstream.phases', value, 'an array of phases');
  const phases = value.map((item: unknown, i) =>
    parsePhase(r, item, `upstream.phases[${i}]`, duration, latency),
  );
  const sorted = [...phases].sort((a, b) => a.from - b.from);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.from < prev.to) {
      const at = phases.indexOf(cur);
      throw new ScenarioError(
        r.source,
        `upstream.phases[${at}].from`,
        `overlaps the ${prev.fault} phase that runs until ${prev.to / 1000} s`,
      );
    }
  }
  return sorted;
}

function parsePhase(r: Reader, item: unknown, path: string, duration: number, latency: Latency): Phase {
  const fault = (item as Doc | null)?.['fault'];
  if (typeof fault !== 'string' || !(FAULTS as readonly string[]).includes(fault)) {
    r.object(item, path, ['fault', 'from', 'to']);
    r.fail(`${path}.fault`, fault, `one of ${FAULTS.map((f) => `"${f}"`).join(', ')}`);
  }
  const kind = fault as Phase['fault'];
  const doc = r.object(item, path, ['fault', 'from', 'to', ...PHASE_FIELDS[kind]]);
  const seconds = duration / 1000;
  const from = r.number(doc, 'from', `${path}.from`, 0, seconds, 0) * 1000;
  const to = r.number(doc, 'to', `${path}.to`, 0, seconds, seconds) * 1000;
  if (to <= from) r.fail(`${path}.to`, to / 1000, `a time after \`from\` (${from / 1000} s)`);
  const at = { from, to };
  switch (kind) {
    case 'healthy':
      return { fault: kind, ...at, latency: r.latency(doc, 'latency', `${path}.latency`, latency) };
    case 'outage': {
      const mode = r.string(doc, 'mode', `${path}.mode`, /^(refuse|reset)$/, '"refuse" or "reset"', 'refuse');
      return { fault: kind, ...at, mode: mode as 'refuse' | 'reset' };
    }
    case 'flaky': {
      const errorRate = r.number(doc, 'errorRate', `${path}.errorRate`, 0, 1, 0);
      const resetRate = r.number(doc, 'resetRate', `${path}.resetRate`, 0, 1, 0);
      if (errorRate + resetRate > 1)
        r.fail(`${path}.resetRate`, resetRate, `at most ${1 - errorRate} (errorRate + resetRate ≤ 1)`);
      const status = r.integer(doc, 'status', `${path}.status`, 400, 599, 503);
      return {
        fault: kind,
        ...at,
        errorRate,
        resetRate,
        status,
        latency: r.latency(doc, 'latency', `${path}.latency`, latency),
      };
    }
    case 'slow': {
      const startLatency = r.number(doc, 'startLatency', `${path}.startLatency`, 0, 120_000);
      const endLatency = r.number(doc, 'endLatency', `${path}.endLatency`, 0, 120_000);
      return { fault: kind, ...at, startLatency, endLatency };
    }
    case 'overload': {
      const capacity = r.integer(doc, 'capacity', `${path}.capacity`, 1, 10_000);
      const serviceTime = r.number(doc, 'serviceTime', `${path}.serviceTime`, 1, 60_000);
      const queue = r.integer(doc, 'queue', `${path}.queue`, 0, 100_000);
      return { fault: kind, ...at, capacity, serviceTime, queue };
    }
    case 'throttle': {
      const quota = r.integer(doc, 'quota', `${path}.quota`, 0, 1_000_000);
      const window = r.integer(doc, 'window', `${path}.window`, 1, 86_400, 1);
      return {
        fault: kind,
        ...at,
        quota,
        window,
        latency: r.latency(doc, 'latency', `${path}.latency`, latency),
      };
    }
    case 'blackhole':
      return { fault: kind, ...at };
    case 'resets': {
      const every = r.number(doc, 'every', `${path}.every`, 0.05, 3600, 1) * 1000;
      return { fault: kind, ...at, every, latency: r.latency(doc, 'latency', `${path}.latency`, latency) };
    }
    case 'deadline': {
      const hopLatency = r.number(doc, 'hopLatency', `${path}.hopLatency`, 0, 60_000, 5);
      const downstreamLatency = r.latency(doc, 'downstreamLatency', `${path}.downstreamLatency`, [50, 1500]);
      return { fault: kind, ...at, hopLatency, downstreamLatency };
    }
  }
}

function parseClients(r: Reader, value: unknown): ClientConfig[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 8) {
    r.fail(
      'clients',
      value,
      'an array of 1 to 8 configurations ("plain", "defaults" or { "name", "options" })',
    );
  }
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const path = `clients[${i}]`;
    let config: ClientConfig;
    if (typeof item === 'string') {
      const preset = PRESETS[item];
      if (preset === undefined) r.fail(path, item, `"plain", "defaults" or { "name", "options" }`);
      config = preset;
    } else {
      const doc = r.object(item, path, ['name', 'options']);
      const name = r.string(
        doc,
        'name',
        `${path}.name`,
        /^[a-z0-9][a-z0-9_.-]{0,31}$/i,
        'a name of letters, digits, ., - and _ (32 at most)',
      );
      config = { name, options: parseClientOptions(r.source, doc['options'] ?? {}, `${path}.options`) };
    }
    if (seen.has(config.name))
      r.fail(`${path}.name`, config.name, 'a name not used by another configuration');
    seen.add(config.name);
    return config;
  });
}

/**
 * Client options from a scenario or a `--config` file: any object. `baseUrl` and `name` are
 * replaced by the lab (each configuration gets its own upstream), so a production config can be
 * used as it is.
 */
export function parseClientOptions(source: string, value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    new Reader(source).fail(path, value, 'an object of createClient options');
  }
  return value as Record<string, unknown>;
}
