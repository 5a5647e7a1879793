/**
 * IP address parsing and the special-purpose ranges the destination guard refuses.
 *
 * Ranges follow the IANA IPv4 and IPv6 Special-Purpose Address Registries: anything that is
 * not globally reachable unicast counts as private. Addresses that carry an IPv4 address
 * inside IPv6 (mapped, compatible, translated, NAT64, 6to4) are judged by the IPv4 address
 * they carry, because that is where the packets end up.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed address: 4 octets, or 8 groups of 16 bits. */
export type ParsedIp =
  { readonly family: 4; readonly value: number } | { readonly family: 6; readonly groups: readonly number[] };

/** [first address as uint32, prefix length, range name] */
const V4_RANGES: readonly (readonly [number, number, string])[] = [
  [v4(0, 0, 0, 0), 8, 'this network (0.0.0.0/8)'],
  [v4(10, 0, 0, 0), 8, 'private (10.0.0.0/8)'],
  [v4(100, 64, 0, 0), 10, 'carrier-grade NAT (100.64.0.0/10)'],
  [v4(127, 0, 0, 0), 8, 'loopback (127.0.0.0/8)'],
  [v4(169, 254, 0, 0), 16, 'link-local (169.254.0.0/16)'],
  [v4(172, 16, 0, 0), 12, 'private (172.16.0.0/12)'],
  [v4(192, 0, 0, 0), 24, 'IETF protocol assignments (192.0.0.0/24)'],
  [v4(192, 0, 2, 0), 24, 'documentation (192.0.2.0/24)'],
  [v4(192, 88, 99, 0), 24, '6to4 relay anycast (192.88.99.0/24)'],
  [v4(192, 168, 0, 0), 16, 'private (192.168.0.0/16)'],
  [v4(198, 18, 0, 0), 15, 'benchmarking (198.18.0.0/15)'],
  [v4(198, 51, 100, 0), 24, 'documentation (198.51.100.0/24)'],
  [v4(203, 0, 113, 0), 24, 'documentation (203.0.113.0/24)'],
  [v4(224, 0, 0, 0), 4, 'multicast (224.0.0.0/4)'],
  [v4(240, 0, 0, 0), 4, 'reserved and broadcast (240.0.0.0/4)'],
];

/** [groups of the prefix, prefix length, range name], checked after the IPv4-carrying forms. */
const V6_RANGES: readonly (readonly [readonly number[], number, string])[] = [
  [[0x64, 0xff9b, 1], 48, 'local-use NAT64 (64:ff9b:1::/48)'],
  [[0x100], 64, 'discard-only (100::/64)'],
  [[0x2001], 23, 'IETF protocol assignments, Teredo (2001::/23)'],
  [[0x2001, 0xdb8], 32, 'documentation (2001:db8::/32)'],
  [[0x3fff], 20, 'documentation (3fff::/20)'],
  [[0x5f00], 16, 'segment routing (5f00::/16)'],
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * Parses an IPv4 or IPv6 address. IPv6 may be bracketed (`[::1]`) and carry a zone (`fe80::1%eth0`).
 * IPv4 also accepts the legacy forms `inet_aton` resolves (`2130706433`, `0x7f.1`, `0177.0.0.1`),
 * since a resolver will happily connect to them.
 * @returns undefined when the text is not an IP address.
 */
export function parseIp(text: string): ParsedIp | undefined {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (isIPv4(s)) return { family: 4, value: parseDottedQuad(s) };
  if (isIPv6(s)) return { family: 6, groups: parseIPv6(s) };
  const legacy = parseLegacyIPv4(s);
  return legacy === undefined ? undefined : { family: 4, value: legacy };
}

function parseDottedQuad(s: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = s.split('.').map(Number);
  return v4(a, b, c, d);
}

/** The `inet_aton` grammar: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the rest. */
function parseLegacyIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    let n: number;
    if (/^0x[0-9a-f]*$/i.test(part)) n = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]*$/.test(part)) n = parseInt(part, 8);
    else if (/^[1-9][0-9]*$/.test(part)) n = parseInt(part, 10);
    else return undefined;
    values.push(n);
  }
  const last = values.pop() ?? 0;
  if (values.some((n) => n > 255)) return undefined;
  if (last >= 2 ** (8 * (4 - values.length))) return undefined;
  let out = 0;
  values.forEach((n, i) => {
    out += n * 2 ** (8 * (3 - i));
  });
  return out + last;
}

/** Expands an IPv6 text (already validated by `isIPv6`) to 8 groups; a dotted tail fills the last two. */
function parseIPv6(s: string): number[] {
  let text = s;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const quad = parseDottedQuad(text.slice(lastColon + 1));
    tail.push(quad >>> 16, quad & 0xffff);
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const toGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const gap = text.indexOf('::');
  let head: number[];
  let rest: number[];
  if (gap === -1) {
    head = toGroups(text);
    rest = [];
  } else {
    head = toGroups(text.slice(0, gap));
    rest = toGroups(text.slice(gap + 2));
  }
  const missing = 8 - head.length - rest.length - tail.length;
  return [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...rest, ...tail];
}

function matchesV6(groups: readonly number[], prefix: readonly number[], length: number): boolean {
  for (let bit = 0, i = 0; bit < length; bit += 16, i++) {
    const take = Math.min(16, length - bit);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if (((groups[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

function v4Range(value: number): string | undefined {
  for (const [base, length, name] of V4_RANGES) {
    const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
    if ((value & mask) >>> 0 === base) return name;
  }
  return undefined;
}

/** The IPv4 address an IPv6 address carries, if its form says it carries one. */
function embeddedV4(g: readonly number[]): number | undefined {
  const last32 = (((g[6] ?? 0) << 16) | (g[7] ?? 0)) >>> 0;
  const zeros = (from: number, to: number): boolean => g.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && (g[5] === 0xffff || g[5] === 0)) return last32; // ::ffff:a.b.c.d mapped, ::a.b.c.d compatible
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return last32; // ::ffff:0:a.b.c.d translated (SIIT)
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return last32; // 64:ff9b::/96 NAT64
  if (g[0] === 0x2002) return (((g[1] ?? 0) << 16) | (g[2] ?? 0)) >>> 0; // 2002::/16 6to4
  return undefined;
}

/**
 * Names the special-purpose range an address falls in, for error messages and logs.
 * @returns undefined for a public (globally reachable unicast) address; `'not an IP address'`
 *   for text that does not parse, so callers that fail closed can say why.
 * @example addressRange('::ffff:a00:1') // 'private (10.0.0.0/8), inside IPv6 ::ffff:a00:1'
 */
export function addressRange(ip: string): string | undefined {
  const parsed = parseIp(ip);
  if (parsed === undefined) return 'not an IP address';
  if (parsed.family === 4) return v4Range(parsed.value);
  const g = parsed.groups;
  if (g.slice(0, 7).every((x) => x === 0) && (g[7] ?? 0) <= 1)
    return g[7] === 1 ? 'loopback (::1)' : 'unspecified (::)';
  const inner = embeddedV4(g);
  if (inner !== undefined) {
    const range = v4Range(inner);
    return range === undefined ? undefined : `${range}, inside IPv6 ${ip}`;
  }
  for (const [prefix, length, name] of V6_RANGES) {
    if (matchesV6(g, prefix, length)) return name;
  }
  // Only 2000::/3 is allocated as global unicast; everything else (fc00::/7 unique-local,
  // fe80::/10 link-local, fec0::/10 site-local, ff00::/8 multicast) is not reachable publicly.
  if (((g[0] ?? 0) & 0xe000) !== 0x2000) return describeV6Outside(g[0] ?? 0);
  return undefined;
}

function describeV6Outside(first: number): string {
  if ((first & 0xfe00) === 0xfc00) return 'unique-local (fc00::/7)';
  if ((first & 0xffc0) === 0xfe80) return 'link-local (fe80::/10)';
  if ((first & 0xffc0) === 0xfec0) return 'site-local (fec0::/10)';
  if ((first & 0xff00) === 0xff00) return 'multicast (ff00::/8)';
  return 'reserved (outside 2000::/3)';
}
