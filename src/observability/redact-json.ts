/**
 * Redaction of JSON text without parsing it. `JSON.parse` plus `JSON.stringify` of a 10 KB
 * body costs several times the budget, so the text is scanned with the same linear patterns
 * as free text, and only the values of secret keys are cut out, with a bracket-matching walk
 * for object and array values. JSON nested inside JSON strings (`"{\"password\":\"x\"}"`)
 * is handled in place by counting the backslashes before each quote.
 */
import {
  applyEdits,
  findClosingQuote,
  scanCards,
  scanFragments,
  scanTokens,
  scanUrls,
  skipSpaces,
  type Edit,
  type RedactRules,
} from './redact-text.js';

/**
 * Redacts JSON text. Returns `undefined` when the text holds a card number as a bare JSON
 * number: replacing it with a string in place could land inside a string, so the caller
 * parses the body instead (rare, and always correct).
 */
export function redactJsonText(text: string, rules: RedactRules): string | undefined {
  const edits: Edit[] = [];
  scanFragments(text, rules, edits, (match, nameStart) => claimKey(text, match, nameStart, rules, edits));
  scanTokens(text, rules.replacement, edits);
  const before = edits.length;
  scanCards(text, rules.replacement, edits);
  for (const card of edits.slice(before)) {
    if (isBareNumber(text, card.start, card.end)) return undefined;
  }
  scanUrls(text, rules, edits);
  return applyEdits(text, edits);
}

/** Claims a `"secret": value` match when the quote before the name opens a JSON key. */
function claimKey(
  text: string,
  match: RegExpExecArray,
  nameStart: number,
  rules: RedactRules,
  edits: Edit[],
): boolean {
  if (match[3] !== '"') return false;
  const escapes = match[2]?.length ?? 0;
  const open = nameStart - 1;
  if (text.charCodeAt(open) !== 34 || countBackslashes(text, open) !== escapes) return false;
  let p = open - escapes - 1;
  while (p >= 0 && isSpace(text.charCodeAt(p))) p--;
  const before = text.charCodeAt(p);
  if (before !== 123 && before !== 44) return false;
  const start = skipSpaces(text, match.index + match[0].length);
  const end = jsonValueEnd(text, start, escapes);
  const slashes = '\\'.repeat(escapes);
  if (end > start) edits.push({ start, end, text: `${slashes}"${rules.replacement}${slashes}"` });
  return true;
}

/** End (exclusive) of the JSON value starting at `start`, at the given escape level. */
function jsonValueEnd(text: string, start: number, escapes: number): number {
  if (text.charCodeAt(start + escapes) === 34 && countBackslashes(text, start + escapes) === escapes) {
    const close = findClosingQuote(text, start + escapes + 1, escapes);
    return close === text.length ? close : close + 1;
  }
  const c = text.charCodeAt(start);
  if (c === 123 || c === 91) return containerEnd(text, start, escapes);
  let i = start;
  for (; i < text.length; i++) {
    const k = text.charCodeAt(i);
    if (k === 44 || k === 125 || k === 93 || k === 92 || isSpace(k)) break;
  }
  return i;
}

/** End (exclusive) of the object or array opening at `start`; strings are skipped whole. */
function containerEnd(text: string, start: number, escapes: number): number {
  let depth = 0;
  const modulus = 2 * escapes + 2;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      if (countBackslashes(text, i) % modulus === escapes) i = findClosingQuote(text, i + 1, escapes);
    } else if (c === 123 || c === 91) {
      depth++;
    } else if (c === 125 || c === 93) {
      if (--depth === 0) return i + 1;
    }
  }
  return text.length;
}

function countBackslashes(text: string, quote: number): number {
  let k = 0;
  while (quote - k - 1 >= 0 && text.charCodeAt(quote - k - 1) === 92) k++;
  return k;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** True when the digits at `start..end` may be a JSON number rather than part of a string. */
function isBareNumber(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  let p = start - 1;
  while (p >= 0 && isSpace(text.charCodeAt(p))) p--;
  const before = text.charCodeAt(p);
  if (before !== 58 && before !== 91 && before !== 44) return false;
  const after = text.charCodeAt(skipSpaces(text, end));
  return Number.isNaN(after) || after === 44 || after === 93 || after === 125;
}
