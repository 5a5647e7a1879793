/**
 * URL scrubbing for logs, spans and error messages: userinfo, secret query values,
 * credentials in path segments, and the fragment (never sent, but OAuth implicit grants put
 * `#access_token=` there) are removed. Works on the text, so relative and malformed URLs
 * are scrubbed too and nothing is re-encoded.
 */
import {
  applyEdits,
  normalizeName,
  scanCards,
  scanTokens,
  truncateText,
  type Edit,
  type RedactRules,
} from './redact-text.js';

/** Longest URL scrubbed; longer ones are cut first. */
const MAX_URL_LENGTH = 16_384;

/** Query parameter names containing one of these are secret whatever the configured list says. */
const QUERY_HINTS = ['token', 'secret', 'password', 'passwd', 'signature', 'credential', 'apikey'] as const;

const AUTHORITY = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\//;

/** True when a query parameter of this name carries a secret. */
export function isSecretQueryName(name: string, rules: RedactRules): boolean {
  const normalized = normalizeName(decodeComponent(name));
  if (rules.queryNames.has(normalized)) return true;
  for (const hint of QUERY_HINTS) if (normalized.includes(hint)) return true;
  return false;
}

/** Redacts a URL string (absolute, protocol-relative or a bare path with a query). */
export function redactUrl(input: string, rules: RedactRules): string {
  let url = truncateText(input, MAX_URL_LENGTH);
  const hash = url.indexOf('#');
  if (hash !== -1) url = url.slice(0, hash);
  const q = url.indexOf('?');
  const base = q === -1 ? url : url.slice(0, q);
  const out = redactBase(base, rules);
  return q === -1 ? out : `${out}?${redactQuery(url.slice(q + 1), rules)}`;
}

function redactBase(base: string, rules: RedactRules): string {
  let authorityEnd = 0;
  let prefix = '';
  const m = AUTHORITY.exec(base);
  if (m !== null) {
    const hostStart = m[0].length;
    authorityEnd = findPathStart(base, hostStart);
    const at = base.lastIndexOf('@', authorityEnd - 1);
    prefix =
      at >= hostStart
        ? base.slice(0, hostStart) + rules.replacement + base.slice(at, authorityEnd)
        : base.slice(0, authorityEnd);
  }
  const path = base.slice(authorityEnd);
  return prefix + redactSecretsIn(path, rules);
}

function findPathStart(url: string, from: number): number {
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 || c === 92) return i;
  }
  return url.length;
}

function redactSecretsIn(text: string, rules: RedactRules): string {
  const edits: Edit[] = [];
  scanTokens(text, rules.replacement, edits);
  scanCards(text, rules.replacement, edits);
  return applyEdits(text, edits);
}

/** Redacts an `a=1&b=2` string: secret names keep their name and lose their value. */
export function redactQuery(query: string, rules: RedactRules): string {
  return redactPairs(query, rules, isSecretQueryName, redactQueryValue);
}

// A value is cut where it holds a secret; one that only shows it once decoded loses it whole.
function redactQueryValue(value: string, rules: RedactRules): string {
  const clean = redactSecretsIn(value, rules);
  if (clean !== value || !/[%+]/.test(value)) return clean;
  const decoded = decodeComponent(value);
  return redactSecretsIn(decoded, rules) === decoded ? value : rules.replacement;
}

/**
 * Redacts the pairs of an `a=1&b=2` text (a query string, a form body): a pair whose name is
 * secret loses its value, any other keeps what `redactValue` makes of its value. Names, the
 * order and pairs without `=` are kept as they are.
 */
export function redactPairs(
  text: string,
  rules: RedactRules,
  isSecretName: (name: string, rules: RedactRules) => boolean,
  redactValue: (value: string, rules: RedactRules) => string,
): string {
  if (text.length === 0) return text;
  const parts = text.split('&');
  for (const [i, part] of parts.entries()) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const value = part.slice(eq + 1);
    const clean = isSecretName(part.slice(0, eq), rules) ? rules.replacement : redactValue(value, rules);
    if (clean !== value) parts[i] = part.slice(0, eq + 1) + clean;
  }
  return parts.join('&');
}

/** `decodeURIComponent` for form and query text (`+` is a space) that never throws. */
export function decodeComponent(text: string): string {
  if (text.indexOf('%') === -1 && text.indexOf('+') === -1) return text;
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
