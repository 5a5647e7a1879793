/**
 * Body redaction: JSON (text or values, any depth), `application/x-www-form-urlencoded`,
 * free text and binary. Values are copied, never changed in place, and the walk is bounded
 * (depth, node count, string length), so cycles, throwing getters and huge bodies yield a
 * bounded result instead of an exception.
 */
import { isCardNumberValue } from './luhn.js';
import { redactJsonText } from './redact-json.js';
import { decodeComponent, redactPairs } from './redact-url.js';
import { normalizeName, redactText, truncateText, type RedactRules } from './redact-text.js';

/** Deepest nesting walked; deeper values become `[Truncated]`. */
const MAX_DEPTH = 32;
/** Most values visited per call; the rest become `[Truncated]`. */
const MAX_NODES = 10_000;
/** How many times JSON found inside strings is unwrapped. */
const MAX_JSON_NESTING = 3;

type BodyKind = 'json' | 'form' | 'text' | 'binary';

/** What a walk has spent so far. */
interface WalkState {
  nodes: number;
  jsonNesting: number;
  readonly ancestors: Set<object>;
}

function newState(): WalkState {
  return { nodes: 0, jsonNesting: 0, ancestors: new Set() };
}

/** The kind of body a `content-type` announces (`undefined`: sniff the content). */
export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  if (contentType === undefined || contentType === '') return undefined;
  const type = contentType.toLowerCase();
  if (type.includes('json')) return 'json';
  if (type.includes('x-www-form-urlencoded')) return 'form';
  if (
    type.startsWith('text/') ||
    type.includes('xml') ||
    type.includes('javascript') ||
    type.includes('graphql')
  ) {
    return 'text';
  }
  if (type.startsWith('multipart/')) return 'text';
  return 'binary';
}

/** Redacts a body of any shape. */
export function redactBody(value: unknown, rules: RedactRules, contentType?: string): unknown {
  return redactBodyWith(value, rules, contentType, newState());
}

function redactBodyWith(
  value: unknown,
  rules: RedactRules,
  contentType: string | undefined,
  state: WalkState,
): unknown {
  if (typeof value === 'string') return redactBodyText(value, rules, bodyKind(contentType), state);
  if (isBinary(value)) return redactBinary(value, rules, contentType, state);
  if (value instanceof URLSearchParams) return redactForm(value.toString(), rules);
  return walk(value, rules, 0, state);
}

/** Redacts a text body of a known or sniffed kind. */
function redactBodyText(
  raw: string,
  rules: RedactRules,
  kind: BodyKind | undefined,
  state: WalkState,
): string {
  const text = truncateText(raw, rules.maxBodyLength);
  const actual = kind === undefined || kind === 'binary' ? sniff(text) : kind;
  if (actual === 'json') return redactJson(text, rules, state);
  if (actual === 'form') return redactForm(text, rules);
  return redactText(text, rules, true);
}

function sniff(text: string): BodyKind {
  const first = text.charCodeAt(skipLeadingSpace(text));
  if (first === 123 || first === 91) return 'json';
  if (text.indexOf('=') > 0 && !/\s/.test(text)) return 'form';
  return 'text';
}

function skipLeadingSpace(text: string): number {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) <= 32) i++;
  return i;
}

function redactJson(text: string, rules: RedactRules, state: WalkState): string {
  const fast = redactJsonText(text, rules);
  if (fast !== undefined) return fast;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return redactText(text, rules, false);
  }
  return JSON.stringify(walk(parsed, rules, 0, state));
}

type Binary = ArrayBuffer | ArrayBufferView;

function isBinary(value: unknown): value is Binary {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

const decoder = new TextDecoder('utf-8', { fatal: true });
// Controls other than tab, LF, CR (and DEL) mark content as binary.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

function redactBinary(
  value: Binary,
  rules: RedactRules,
  contentType: string | undefined,
  state: WalkState,
): string {
  const bytes =
    value instanceof ArrayBuffer
      ? new Uint8Array(value)
      : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const binary = `[binary ${bytes.byteLength} bytes]`;
  const kind = bodyKind(contentType);
  if (kind === 'binary' || bytes.byteLength > rules.maxBodyLength) return binary;
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return binary;
  }
  if (CONTROL.test(text)) return binary;
  return redactBodyText(text, rules, kind, state);
}

/** Copies `value` with every secret replaced. */
function walk(value: unknown, rules: RedactRules, depth: number, state: WalkState): unknown {
  switch (typeof value) {
    case 'string':
      return redactStringValue(value, rules, state);
    case 'number':
      return isCardNumberValue(value) ? rules.replacement : value;
    case 'bigint':
      return isCardNumberValue(value) ? rules.replacement : value.toString();
    case 'object':
      if (value === null) return null;
      return walkObject(value, rules, depth, state);
    case 'function':
      return '[Function]';
    case 'symbol':
      return value.toString();
    default:
      return value;
  }
}

function redactStringValue(value: string, rules: RedactRules, state: WalkState): string {
  const text = truncateText(value, rules.maxBodyLength);
  const first = text.charCodeAt(0);
  if ((first === 123 || first === 91) && state.jsonNesting < MAX_JSON_NESTING) {
    state.jsonNesting++;
    const out = redactJson(text, rules, state);
    state.jsonNesting--;
    return out;
  }
  return redactText(text, rules, false);
}

function walkObject(value: object, rules: RedactRules, depth: number, state: WalkState): unknown {
  if (++state.nodes > MAX_NODES || depth >= MAX_DEPTH) return '[Truncated]';
  if (state.ancestors.has(value)) return '[Circular]';
  if (isBinary(value)) return redactBinary(value, rules, undefined, state);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (value instanceof URL) return rules.url(value.href);
  if (value instanceof URLSearchParams) return redactForm(value.toString(), rules);
  if (value instanceof RegExp) return value.toString();
  state.ancestors.add(value);
  try {
    if (Array.isArray(value)) return walkArray(value, rules, depth, state);
    if (value instanceof Map) return walkEntries(value.entries(), rules, depth, state);
    if (value instanceof Set) return walkArray([...value], rules, depth, state);
    if (value instanceof Error) return { name: value.name, message: redactText(value.message, rules, false) };
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(value), rules, depth + 1, state);
    return walkEntries(ownEntries(value), rules, depth, state);
  } catch {
    return '[Unreadable]';
  } finally {
    state.ancestors.delete(value);
  }
}

function walkArray(
  value: readonly unknown[],
  rules: RedactRules,
  depth: number,
  state: WalkState,
): unknown[] {
  const out = new Array<unknown>(value.length);
  for (let i = 0; i < value.length; i++) {
    if (state.nodes > MAX_NODES) {
      out.length = i;
      out.push('[Truncated]');
      break;
    }
    out[i] = walk(
      readSafely(() => value[i]),
      rules,
      depth + 1,
      state,
    );
  }
  return out;
}

function* ownEntries(value: object): Generator<[string, unknown]> {
  for (const key of Object.keys(value)) {
    yield [key, readSafely(() => (value as Record<string, unknown>)[key])];
  }
}

function walkEntries(
  entries: Iterable<[unknown, unknown]>,
  rules: RedactRules,
  depth: number,
  state: WalkState,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, item] of entries) {
    if (state.nodes > MAX_NODES) {
      setKey(out, '…', '[Truncated]');
      break;
    }
    const key = typeof rawKey === 'string' ? rawKey : String(rawKey);
    const secret = isSecretKey(key, rules);
    setKey(out, key, secret ? rules.replacement : walk(item, rules, depth + 1, state));
  }
  return out;
}

/** @internal Writes `key` as an own data property, so a `__proto__` key cannot replace the prototype. */
export function setKey(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function readSafely(read: () => unknown): unknown {
  try {
    return read();
  } catch {
    return '[Unreadable]';
  }
}

// Keys repeat across objects and calls; caching the verdict skips normalizing each time.
const verdicts = new WeakMap<RedactRules, Map<string, boolean>>();

/** True when an object key (or form field) of this name holds a secret. */
export function isSecretKey(key: string, rules: RedactRules): boolean {
  let cache = verdicts.get(rules);
  if (cache === undefined) {
    cache = new Map();
    verdicts.set(rules, cache);
  }
  let verdict = cache.get(key);
  if (verdict === undefined) {
    verdict = rules.keyNames.has(normalizeName(key));
    if (cache.size >= 2048) cache.clear();
    cache.set(key, verdict);
  }
  return verdict;
}

/** Redacts an `application/x-www-form-urlencoded` body. */
export function redactForm(text: string, rules: RedactRules): string {
  return redactPairs(text, rules, isSecretFormName, redactFormValue);
}

function isSecretFormName(name: string, rules: RedactRules): boolean {
  return isSecretKey(decodeComponent(name), rules);
}

// A form value with a secret in it is replaced whole: its encoded form cannot be cut in place.
function redactFormValue(value: string, rules: RedactRules): string {
  const decoded = decodeComponent(value);
  return redactText(decoded, rules, false) === decoded ? value : rules.replacement;
}
