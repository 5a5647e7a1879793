/**
 * Secret detection in free text: `name=value` and `name: value` fragments for secret names,
 * well-known credential formats, card numbers and URLs. Every pattern is linear: each
 * repetition consumes a character no other branch can, and a match starts only after a
 * non-word character, so hostile input cannot make a scan quadratic.
 */
import { findCardNumbers } from './luhn.js';

/** One replacement of `text.slice(start, end)` by `text`. */
export interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The compiled form of a redactor's options, shared by the text, URL and body scanners. */
export interface RedactRules {
  readonly replacement: string;
  /** Normalized names whose values are secret in bodies, forms and text. */
  readonly keyNames: ReadonlySet<string>;
  /** Normalized names of secret query parameters. */
  readonly queryNames: ReadonlySet<string>;
  /** Normalized names of secret headers. */
  readonly headerNames: ReadonlySet<string>;
  /** `name=`, `name:` and `"name":` for every key name (global, case-insensitive). */
  readonly fragmentPattern: RegExp;
  /** `name: value` header lines in text dumps (global, multiline, case-insensitive). */
  readonly headerLinePattern: RegExp;
  /** Longest text body scanned; the rest is cut. */
  readonly maxBodyLength: number;
  /** Redacts a URL (set by the redactor: URL scrubbing lives in redact-url.ts). */
  readonly url: (url: string) => string;
}

/**
 * Lowercase with every character other than a-z and 0-9 removed, so `apiKey`, `api-key`
 * and `API_KEY` all become `apikey`.
 */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  end: boolean;
}

const SEPARATOR = '[-_. ]?';

/**
 * A regex source matching any of the normalized `names` written with any case and an
 * optional `-`, `_`, `.` or space between any two characters. Built as a prefix tree so the
 * engine tests each character once instead of once per name.
 */
export function namePattern(names: Iterable<string>): string {
  const root: TrieNode = { children: new Map(), end: false };
  for (const name of names) {
    let node = root;
    for (const ch of name) {
      let next = node.children.get(ch);
      if (next === undefined) {
        next = { children: new Map(), end: false };
        node.children.set(ch, next);
      }
      node = next;
    }
    node.end = true;
  }
  return emitTrie(root) || '(?!)';
}

function emitTrie(node: TrieNode): string {
  const branches: string[] = [];
  for (const [ch, child] of node.children) {
    branches.push(child.children.size > 0 ? ch + SEPARATOR + emitTrie(child) : ch);
  }
  if (branches.length === 0) return '';
  const body = branches.length === 1 ? branches.join('') : `(?:${branches.join('|')})`;
  return node.end ? `(?:${body})?` : body;
}

/** The fragment pattern: group 1 the name, 2 backslashes before a closing quote, 3 that quote. */
export function fragmentPattern(keyNames: Iterable<string>): RegExp {
  return new RegExp(`(?:^|[^A-Za-z0-9_.-])(${namePattern(keyNames)})(\\\\*)(["']?)\\s*[=:]`, 'gi');
}

/** Header lines of a text dump (`Authorization: Bearer …`): group 1 is up to the colon. */
export function headerLinePattern(headerNames: Iterable<string>): RegExp {
  return new RegExp(`^([ \\t]*(?:${namePattern(headerNames)})[ \\t]*:)[^\\r\\n]*`, 'gim');
}

// Credential formats whose shape alone says "secret". Group 1 keeps an auth scheme word.
const TOKEN_PATTERN = new RegExp(
  '(?:^|[^A-Za-z0-9_-])(?:' +
    [
      '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}',
      'whsec_[A-Za-z0-9]{8,}',
      'gh[pousr]_[A-Za-z0-9]{20,}',
      'github_pat_[A-Za-z0-9_]{20,}',
      'A[KS]IA[A-Z0-9]{12,}',
      'xox[abposr]-[A-Za-z0-9-]{8,}',
      'eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*',
      'AIza[A-Za-z0-9_-]{30,}',
      'npm_[A-Za-z0-9]{30,}',
      'sk-[A-Za-z0-9_-]{20,}',
      '([Bb][Ee][Aa][Rr][Ee][Rr] +|[Bb][Aa][Ss][Ii][Cc] +)[A-Za-z0-9._~+/-]+=*',
    ].join('|') +
    ')',
  'g',
);

/** Pushes an edit for every well-known credential (Stripe, GitHub, AWS, Slack, JWT, Bearer…). */
export function scanTokens(text: string, replacement: string, edits: Edit[]): void {
  if (text.length < 10) return;
  TOKEN_PATTERN.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = TOKEN_PATTERN.exec(text)) !== null) {
    const end = m.index + m[0].length;
    let start = isWordCode(text.charCodeAt(m.index)) ? m.index : m.index + 1;
    if (m[1] !== undefined) start += m[1].length;
    edits.push({ start, end, text: replacement });
  }
}

/** Pushes an edit for every Luhn-valid card number. */
export function scanCards(text: string, replacement: string, edits: Edit[]): void {
  if (text.length < 13) return;
  findCardNumbers(text, (start, end) => edits.push({ start, end, text: replacement }));
}

const URL_IN_TEXT = /[A-Za-z][A-Za-z0-9+.-]{0,15}:\/\/[^\s"'<>\\`]+/g;

/** Pushes an edit for every absolute URL that needs scrubbing (userinfo, secret query, tokens). */
export function scanUrls(text: string, rules: RedactRules, edits: Edit[]): void {
  if (text.indexOf('//') === -1) return;
  URL_IN_TEXT.lastIndex = 0;
  const found: [number, string][] = [];
  let m: RegExpExecArray | null;
  while ((m = URL_IN_TEXT.exec(text)) !== null) found.push([m.index, m[0]]);
  for (const [start, url] of found) {
    const clean = rules.url(url);
    if (clean !== url) edits.push({ start, end: start + url.length, text: clean });
  }
}

const UNQUOTED_VALUE = /[^\s,;&"'<>)}\]\\]*/y;

/**
 * Pushes an edit for the value of every `secret=value`, `secret: value` and `"secret": "value"`
 * fragment. `keyValue` may claim a match (the JSON scanner does, for real keys); it returns
 * true when it did.
 */
export function scanFragments(
  text: string,
  rules: RedactRules,
  edits: Edit[],
  keyValue?: (match: RegExpExecArray, nameStart: number) => boolean,
): void {
  if (text.indexOf('=') === -1 && text.indexOf(':') === -1) return;
  const pattern = rules.fragmentPattern;
  pattern.lastIndex = 0;
  const matches: RegExpExecArray[] = [];
  let m: RegExpExecArray | null;
  while ((m = pattern.exec(text)) !== null) matches.push(m);
  for (const match of matches) {
    const nameStart = text.startsWith(match[1] ?? '', match.index) ? match.index : match.index + 1;
    if (keyValue?.(match, nameStart) === true) continue;
    fragmentValue(text, skipSpaces(text, match.index + match[0].length), rules.replacement, edits);
  }
}

function fragmentValue(text: string, start: number, replacement: string, edits: Edit[]): void {
  let escapes = 0;
  while (text.charCodeAt(start + escapes) === 92) escapes++;
  const quote = text.charCodeAt(start + escapes);
  if (quote === 34 || quote === 39) {
    const open = start + escapes + 1;
    const close = findClosingQuote(text, open, escapes, quote);
    edits.push({ start: open, end: close === text.length ? close : close - escapes, text: replacement });
    return;
  }
  if (escapes > 0) return;
  UNQUOTED_VALUE.lastIndex = start;
  UNQUOTED_VALUE.exec(text);
  const end = UNQUOTED_VALUE.lastIndex;
  if (end > start) edits.push({ start, end, text: replacement });
}

/**
 * Index of the quote closing a string opened just before `from`, in JSON nested `level`
 * times inside other JSON strings (`escapes` = 0, 1, 3, 7… backslashes precede its quotes).
 * A quote closes the string when the backslashes before it number `escapes` modulo
 * `2 * escapes + 2`. Returns `text.length` when the string never closes.
 */
export function findClosingQuote(text: string, from: number, escapes: number, quote = 34): number {
  const ch = String.fromCharCode(quote);
  let i = text.indexOf(ch, from);
  while (i !== -1) {
    let k = 0;
    while (i - k - 1 >= from && text.charCodeAt(i - k - 1) === 92) k++;
    if (k % (2 * escapes + 2) === escapes) return i;
    i = text.indexOf(ch, i + 1);
  }
  return text.length;
}

/** First index at or after `i` that is not a space, tab, CR or LF. */
export function skipSpaces(text: string, i: number): number {
  let c = text.charCodeAt(i);
  while (c === 32 || c === 9 || c === 10 || c === 13) c = text.charCodeAt(++i);
  return i;
}

/** True for A-Z, a-z, 0-9, `_` and `-`: the characters a secret name cannot follow. */
export function isWordCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45;
}

/** Pushes an edit for the value of every sensitive header line in a text dump. */
export function scanHeaderLines(text: string, rules: RedactRules, edits: Edit[]): void {
  if (text.indexOf(':') === -1) return;
  const pattern = rules.headerLinePattern;
  pattern.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = pattern.exec(text)) !== null) {
    const start = m.index + (m[1]?.length ?? 0);
    const end = m.index + m[0].length;
    if (end > start) edits.push({ start, end, text: ' ' + rules.replacement });
  }
}

/**
 * Applies `edits` to `text`. Overlapping edits merge into one covering both, written with
 * the text of the one that starts first: a merge may hide more than needed, never less.
 */
export function applyEdits(text: string, edits: Edit[]): string {
  if (edits.length === 0) return text;
  if (edits.length > 1) edits.sort((a, b) => a.start - b.start || b.end - a.end);
  let out = '';
  let end = 0;
  for (const edit of edits) {
    if (edit.start < end) {
      end = Math.max(end, edit.end);
      continue;
    }
    out += text.slice(end, edit.start) + edit.text;
    end = edit.end;
  }
  return out + text.slice(end);
}

/**
 * Cuts `text` to `max` characters without leaving half a card number or token at the cut:
 * the word or digit run the cut falls in is dropped entirely.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max;
  while (cut > 0 && isWordCode(text.charCodeAt(cut - 1))) cut--;
  // A card written in groups (`4111 1111 11|`) loses every group, not just the last one.
  while (cut > 0 && (isDigitCode(text.charCodeAt(cut - 1)) || isSeparatedDigit(text, cut))) cut--;
  return `${text.slice(0, cut)}…[truncated ${text.length - cut} chars]`;
}

function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isSeparatedDigit(text: string, cut: number): boolean {
  const sep = text.charCodeAt(cut - 1);
  return (sep === 32 || sep === 45) && isDigitCode(text.charCodeAt(cut - 2));
}

/** Redacts free text: secret fragments, credentials, card numbers, URLs and (optionally) header lines. */
export function redactText(text: string, rules: RedactRules, headerLines: boolean): string {
  const edits: Edit[] = [];
  scanFragments(text, rules, edits);
  scanTokens(text, rules.replacement, edits);
  scanCards(text, rules.replacement, edits);
  scanUrls(text, rules, edits);
  if (headerLines) scanHeaderLines(text, rules, edits);
  return applyEdits(text, edits);
}
