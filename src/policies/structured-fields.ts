/**
 * A small parser for RFC 9651 Structured Field Lists, enough for the IETF `RateLimit` and
 * `RateLimit-Policy` fields. Input is untrusted: it never throws, runs in one linear pass with
 * no regular expressions (no backtracking on hostile values), and a malformed field yields
 * `undefined` so the caller ignores it whole, as the RateLimit draft requires.
 */

/** A Decimal (`1.5`, `1.0`): kept apart from Integers, which RateLimit parameters must be. */
export class SfDecimal {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
}

/**
 * A bare item: Integers as `number`, Decimals as {@link SfDecimal}, strings and tokens as
 * `string`, booleans, or `null` for byte sequences, dates and display strings (checked, not kept).
 */
export type SfValue = number | SfDecimal | string | boolean | null;

/** One list member: its bare item and its parameters. */
export interface SfItem {
  readonly value: SfValue;
  readonly params: ReadonlyMap<string, SfValue>;
}

/** Longer field values are refused unread: real RateLimit fields are a few dozen bytes. */
export const MAX_SF_LENGTH = 4_096;

const FAIL = Symbol('fail');
type Parsed<T> = T | typeof FAIL;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isLcAlpha = (c: number): boolean => c >= 97 && c <= 122;
const isAlpha = (c: number): boolean => isLcAlpha(c) || (c >= 65 && c <= 90);
// tchar from RFC 9110 plus ':' and '/', as sf-token allows.
const isTokenChar = (c: number): boolean =>
  isAlpha(c) || isDigit(c) || (c > 32 && c < 127 && "!#$%&'*+-.^_`|~:/".includes(String.fromCharCode(c)));
const isKeyChar = (c: number): boolean =>
  isLcAlpha(c) || isDigit(c) || c === 95 || c === 45 || c === 46 || c === 42;
const isBase64Char = (c: number): boolean => isAlpha(c) || isDigit(c) || c === 43 || c === 47;
const isLcHex = (c: number): boolean => isDigit(c) || (c >= 97 && c <= 102);
const utf8 = new TextDecoder('utf-8', { fatal: true });

class Cursor {
  i = 0;
  readonly s: string;
  constructor(s: string) {
    this.s = s;
  }
  atEnd(): boolean {
    return this.i >= this.s.length;
  }
  peek(): number {
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }
  skipSpaces(ows: boolean): void {
    for (let c = this.peek(); c === 32 || (ows && c === 9); c = this.peek()) this.i++;
  }
}

function parseNumber(cur: Cursor, decimal = true): Parsed<number | SfDecimal> {
  const start = cur.i;
  if (cur.peek() === 45) cur.i++;
  let intDigits = 0;
  while (isDigit(cur.peek())) {
    cur.i++;
    intDigits++;
  }
  if (intDigits === 0) return FAIL;
  // `+ 0` turns `-0` into 0, as RFC 9651 reads it.
  if (cur.peek() !== 46) return intDigits > 15 ? FAIL : Number(cur.s.slice(start, cur.i)) + 0;
  if (intDigits > 12 || !decimal) return FAIL;
  cur.i++;
  let fracDigits = 0;
  while (isDigit(cur.peek())) {
    cur.i++;
    fracDigits++;
  }
  return fracDigits === 0 || fracDigits > 3 ? FAIL : new SfDecimal(Number(cur.s.slice(start, cur.i)) + 0);
}

function parseString(cur: Cursor): Parsed<string> {
  cur.i++;
  let out = '';
  for (;;) {
    const c = cur.peek();
    if (c === -1) return FAIL;
    cur.i++;
    if (c === 34) return out;
    if (c === 92) {
      const next = cur.peek();
      if (next !== 34 && next !== 92) return FAIL;
      cur.i++;
      out += String.fromCharCode(next);
    } else if (c < 32 || c > 126) {
      return FAIL;
    } else {
      out += String.fromCharCode(c);
    }
  }
}

function parseToken(cur: Cursor): string {
  const start = cur.i;
  cur.i++;
  while (isTokenChar(cur.peek())) cur.i++;
  return cur.s.slice(start, cur.i);
}

/** `:base64:`: padding only at the end (at most two `=`), as RFC 9651 §4.2.7 reads it. Not kept. */
function skipBinary(cur: Cursor): Parsed<null> {
  cur.i++;
  let padding = 0;
  for (;;) {
    const c = cur.peek();
    if (c === -1) return FAIL;
    cur.i++;
    if (c === 58) return null;
    if (c === 61) {
      if (++padding > 2) return FAIL;
    } else if (padding > 0 || !isBase64Char(c)) return FAIL;
  }
}

/**
 * `%"..."`: printable ASCII, with `%xx` (lowercase hex) escapes that must decode to valid UTF-8
 * (RFC 9651 §4.2.10). Checked, not kept: no RateLimit parameter is a display string.
 */
function skipDisplayString(cur: Cursor): Parsed<null> {
  cur.i++;
  if (cur.peek() !== 34) return FAIL;
  cur.i++;
  let bytes: number[] | undefined;
  for (;;) {
    const c = cur.peek();
    if (c === -1) return FAIL;
    cur.i++;
    if (c === 34) break;
    if (c < 32 || c > 126) return FAIL;
    if (c !== 37) {
      bytes?.push(c);
      continue;
    }
    const hi = cur.peek();
    if (!isLcHex(hi)) return FAIL;
    cur.i++;
    const lo = cur.peek();
    if (!isLcHex(lo)) return FAIL;
    cur.i++;
    // Only bytes outside ASCII can make the text invalid UTF-8: plain ASCII never is.
    const byte = Number.parseInt(String.fromCharCode(hi, lo), 16);
    if (byte > 127 || bytes !== undefined) (bytes ??= []).push(byte);
  }
  if (bytes === undefined) return null;
  try {
    utf8.decode(Uint8Array.from(bytes));
    return null;
  } catch {
    return FAIL;
  }
}

/** `@` and an Integer of seconds (a decimal is not a date). Checked, not kept. */
function skipDate(cur: Cursor): Parsed<null> {
  cur.i++;
  return parseNumber(cur, false) === FAIL ? FAIL : null;
}

function parseBareItem(cur: Cursor): Parsed<SfValue> {
  const c = cur.peek();
  if (c === 45 || isDigit(c)) return parseNumber(cur);
  if (c === 34) return parseString(cur);
  if (c === 42 || isAlpha(c)) return parseToken(cur);
  if (c === 58) return skipBinary(cur);
  if (c === 63) {
    cur.i++;
    const b = cur.peek();
    cur.i++;
    return b === 49 ? true : b === 48 ? false : FAIL;
  }
  if (c === 64) return skipDate(cur);
  if (c === 37) return skipDisplayString(cur);
  return FAIL;
}

function parseParams(cur: Cursor): Parsed<Map<string, SfValue>> {
  const params = new Map<string, SfValue>();
  while (cur.peek() === 59) {
    cur.i++;
    cur.skipSpaces(false);
    const start = cur.i;
    const first = cur.peek();
    if (!isLcAlpha(first) && first !== 42) return FAIL;
    cur.i++;
    while (isKeyChar(cur.peek())) cur.i++;
    const key = cur.s.slice(start, cur.i);
    let value: Parsed<SfValue> = true;
    if (cur.peek() === 61) {
      cur.i++;
      value = parseBareItem(cur);
      if (value === FAIL) return FAIL;
    }
    params.set(key, value);
  }
  return params;
}

/**
 * Parses a Structured Field List. Inner lists are refused (no RateLimit field uses them).
 * @returns the members, or `undefined` when the value is malformed or longer than {@link MAX_SF_LENGTH}.
 * @example parseSfList('"default";r=0;t=30') // [{ value: 'default', params: Map { r → 0, t → 30 } }]
 */
export function parseSfList(value: string): SfItem[] | undefined {
  if (value.length > MAX_SF_LENGTH) return undefined;
  const cur = new Cursor(value);
  const items: SfItem[] = [];
  cur.skipSpaces(false);
  while (!cur.atEnd()) {
    const bare = parseBareItem(cur);
    if (bare === FAIL) return undefined;
    const params = parseParams(cur);
    if (params === FAIL) return undefined;
    items.push({ value: bare, params });
    cur.skipSpaces(true);
    if (cur.atEnd()) return items;
    if (cur.peek() !== 44) return undefined;
    cur.i++;
    cur.skipSpaces(true);
    if (cur.atEnd()) return undefined;
  }
  return items;
}
