/**
 * Card-number detection for redaction: runs of 13–19 digits, optionally grouped with spaces or
 * dashes (one or two spaces, or a dash with a space on either side: `4111  1111 …`,
 * `4111 - 1111 …`), that pass the Luhn checksum (ISO/IEC 7812).
 */

/**
 * True when `digits` (ASCII digits only) passes the Luhn checksum.
 * @example luhnValid('4111111111111111') // true
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** True when `digits` has the length of a payment card number and passes Luhn. */
export function isCardNumber(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && luhnValid(digits);
}

/**
 * True for a number a JSON body might carry a card number in. Integers past 2^53 have lost
 * digits, so they cannot be checked: a 16–19 digit one is treated as a card rather than leaked.
 */
export function isCardNumberValue(value: number | bigint): boolean {
  if (typeof value === 'bigint') return value >= 0n && isCardNumber(value.toString());
  if (!Number.isInteger(value) || value < 1e12 || value >= 1e19) return false;
  return Number.isSafeInteger(value) ? isCardNumber(String(value)) : true;
}

// Four leading digits written out: irregexp runs `\d\d\d\d` several times faster than `\d{4}`.
// The lookbehind (after the first digit, so the engine's first-character check still applies)
// starts a match only at the first digit of a run: no run is rescanned from each of its digits.
// Every repetition consumes a digit, so a match is linear in the run it covers.
// A separator is one or two spaces, or a dash with at most one space on each side: the
// alternatives never overlap, so a run is still matched without backtracking.
const CARD_RUN = /\d(?<!\d\d)\d\d\d(?:(?: {1,2}| ?- ?)?\d){9,}/g;
// A separator of two characters or more: text grouped that widely is as likely a list or a
// date range (`2019-01-01 - 2020-12-31`) as one number, so only card-like groups count there.
const WIDE_SEPARATOR = /[ -]{2}/;
/** The shortest group of a card written with wide separators (4-4-4-4-3 is the shortest there is). */
const MIN_WIDE_GROUP = 3;

/**
 * Calls `found(start, end)` for every card number in `text`. A run longer than 19 digits is
 * searched group by group (`4111 1111 1111 1111 2024` still yields the card); an ungrouped
 * run of 20+ digits is an identifier, not a card. A run with wide separators is always searched
 * group by group, and a group of fewer than 3 digits ends a candidate there.
 */
export function findCardNumbers(text: string, found: (start: number, end: number) => void): void {
  CARD_RUN.lastIndex = 0;
  let match: RegExpExecArray | null;
  const runs: [number, string][] = [];
  while ((match = CARD_RUN.exec(text)) !== null) runs.push([match.index, match[0]]);
  for (const [start, run] of runs) {
    const digits = stripSeparators(run);
    if (digits.length !== run.length && WIDE_SEPARATOR.test(run)) {
      findInGroups(run, start, found, MIN_WIDE_GROUP);
      continue;
    }
    if (digits.length <= 19) {
      if (isCardNumber(digits)) found(start, start + run.length);
      continue;
    }
    if (digits.length === run.length) continue;
    findInGroups(run, start, found, 1);
  }
}

function stripSeparators(run: string): string {
  return run.length === 0 || (run.indexOf(' ') === -1 && run.indexOf('-') === -1)
    ? run
    : run.replace(/[ -]/g, '');
}

function findInGroups(
  run: string,
  offset: number,
  found: (start: number, end: number) => void,
  minGroup: number,
): void {
  const groups: { start: number; end: number; digits: string }[] = [];
  let groupStart = 0;
  for (let i = 0; i <= run.length; i++) {
    const c = i < run.length ? run.charCodeAt(i) : 32;
    if (c === 32 || c === 45) {
      if (i > groupStart) groups.push({ start: groupStart, end: i, digits: run.slice(groupStart, i) });
      groupStart = i + 1;
    }
  }
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    const first = groups[i];
    for (let j = i; j < groups.length && first !== undefined; j++) {
      const group = groups[j];
      if (group === undefined) break;
      if (group.digits.length < minGroup) break;
      digits += group.digits;
      if (digits.length > 19) break;
      if (isCardNumber(digits)) {
        found(offset + first.start, offset + group.end);
        i = j;
        break;
      }
    }
  }
}
