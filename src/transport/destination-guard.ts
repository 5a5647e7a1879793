/**
 * Destination guards: `allowedHosts` (which names a client may reach) and `blockPrivateIps`
 * (no loopback, private, link-local, metadata or other special-purpose addresses).
 *
 * Why the check sits inside `lookup` and not before the request: DNS rebinding. An attacker's
 * name answers a pre-flight resolution with a public address, then, with a TTL of zero, answers
 * the connection's own resolution with 127.0.0.1 or 169.254.169.254. Any check made on one
 * resolution and a connect made on another has that gap. Here the guard wraps the very `lookup`
 * the socket uses, so the address judged is the address connected to: there is no second
 * resolution to rebind. IP literals skip `lookup` in `net.connect`, so {@link checkDestinationUrl}
 * judges them before any dispatch and {@link checkConnectedSocket} re-checks the peer address
 * once the socket is up (defence in depth: a custom connector, a future undici change).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction, Socket } from 'node:net';
import { domainToASCII } from 'node:url';
import { BulwarkError, invalidOption } from '../errors.js';
import { addressRange, parseIp } from './ip.js';

/** What the guards refuse. */
export interface DestinationGuardOptions {
  /**
   * Refuse loopback, private (RFC 1918), link-local (cloud metadata), CGNAT, unique-local,
   * multicast, reserved and documentation addresses, including IPv4 carried inside IPv6.
   * @default true here, in the guard functions used on their own; the client's
   * `blockPrivateIps` option is `false` unless set.
   */
  blockPrivateIps?: boolean;
  /**
   * Host names the client may reach: exact (`api.example.com`) or `*.example.com` for any
   * subdomain (not `example.com` itself). Case-insensitive, trailing dot ignored. Unset: any host.
   * @default undefined
   */
  allowedHosts?: readonly string[];
  /**
   * The resolver to guard (a fake in tests, a caching resolver in production).
   * @default dns.lookup
   */
  lookup?: LookupFunction;
}

/**
 * True for any address that is not globally reachable unicast: 127/8, ::1, 10/8, 172.16/12,
 * 192.168/16, 169.254/16, fe80::/10, 100.64/10, 0/8, ::, fc00::/7, multicast, broadcast,
 * reserved and documentation ranges; IPv4-mapped (`::ffff:10.0.0.1`, `::ffff:a00:1`), NAT64
 * (`64:ff9b::/96`) and 6to4 addresses are judged by the IPv4 address they carry. Text that is
 * not an IP address returns true: the guard fails closed on what it cannot classify.
 * @example isPrivateAddress('::ffff:a00:1') // true (10.0.0.1)
 */
export function isPrivateAddress(ip: string): boolean {
  return addressRange(ip) !== undefined;
}

function normaliseHost(host: string): string {
  let s = host.trim().toLowerCase();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.includes(':')) return s; // IPv6: not a domain
  const ascii = domainToASCII(s); // IDN to punycode, legacy IPv4 forms to dotted quad
  return ascii === '' ? s : ascii;
}

/**
 * True when `hostname` matches one of `patterns`: an exact name or IP, or `*.example.com`,
 * which matches `a.example.com` and `a.b.example.com` but not `example.com` nor
 * `evil-example.com`. Comparison is case-insensitive, ignores one trailing dot, and compares
 * IDNs in punycode. Ports are not part of a pattern.
 */
export function hostAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = normaliseHost(hostname);
  for (const raw of patterns) {
    if (raw.startsWith('*.')) {
      const suffix = '.' + normaliseHost(raw.slice(2));
      if (host.length > suffix.length && host.endsWith(suffix)) return true;
    } else if (host === normaliseHost(raw)) return true;
  }
  return false;
}

/**
 * Validates `allowedHosts` patterns up front, so a typo fails at `createClient`, not per call.
 * @throws BulwarkError `INVALID_OPTIONS` naming `path[index]`.
 */
export function validateHostPatterns(path: string, patterns: unknown): readonly string[] {
  if (!Array.isArray(patterns))
    throw invalidOption(path, patterns, 'an array of host names or `*.domain` patterns');
  return patterns.map((pattern: unknown, i) => {
    const name = typeof pattern === 'string' ? (pattern.startsWith('*.') ? pattern.slice(2) : pattern) : '';
    const bad = name === '' || /[\s/*@?#]/.test(name) || (name.includes(':') && parseIp(name) === undefined);
    if (bad)
      throw invalidOption(
        `${path}[${i}]`,
        pattern,
        'a host name (`api.example.com`), an IP, or `*.example.com`',
      );
    return pattern as string;
  });
}

function blocked(message: string): BulwarkError {
  return new BulwarkError('BLOCKED_DESTINATION', message);
}

/**
 * Checks one hop's URL before anything is dispatched: the host against `allowedHosts`, and an
 * IP-literal host against the private ranges (a literal never reaches `lookup`). Call it for
 * the first URL and for every redirect target.
 * @throws BulwarkError `BLOCKED_DESTINATION`
 */
export function checkDestinationUrl(url: URL, options: DestinationGuardOptions = {}): void {
  const { allowedHosts } = options;
  if (allowedHosts !== undefined && !hostAllowed(url.hostname, allowedHosts)) {
    throw blocked(`Refused ${url.hostname}: host is not in allowedHosts.`);
  }
  if (options.blockPrivateIps !== false && parseIp(url.hostname) !== undefined) {
    const range = addressRange(url.hostname);
    if (range !== undefined) throw blocked(`Refused ${url.hostname}: ${range} address (blockPrivateIps).`);
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `dns.lookup`-compatible resolver that refuses, before any connection, a host outside
 * `allowedHosts` or a name resolving to a private address. With `all: true` (what `net.connect`
 * asks for under happy eyeballs) one private address refuses the whole answer: otherwise a
 * hostile resolver could mix answers and let the connection race pick the private one. Family,
 * hints and ordering options pass through to the wrapped resolver unchanged.
 * The callback's error is a `BulwarkError` with code `BLOCKED_DESTINATION`.
 * @example new Pool(origin, { connect: { lookup: guardedLookup({ blockPrivateIps: true }) } })
 */
export function guardedLookup(options: DestinationGuardOptions = {}): LookupFunction {
  const base = options.lookup ?? dnsLookup;
  const allowedHosts = options.allowedHosts;
  const blockPrivate = options.blockPrivateIps !== false;
  // Also accepts dns.lookup's (hostname, callback) and (hostname, family, callback) forms.
  return function lookup(
    hostname: string,
    opts: LookupOptions | number | LookupCallback,
    cb?: LookupCallback,
  ): void {
    const callback = typeof opts === 'function' ? opts : cb;
    if (callback === undefined) throw new TypeError('guardedLookup: callback is required');
    const lookupOptions: LookupOptions =
      typeof opts === 'number' ? { family: opts } : typeof opts === 'function' ? {} : opts;
    if (allowedHosts !== undefined && !hostAllowed(hostname, allowedHosts)) {
      process.nextTick(callback, blocked(`Refused ${hostname}: host is not in allowedHosts.`), '');
      return;
    }
    base(hostname, lookupOptions, (err, address, family) => {
      if (err !== null || !blockPrivate) {
        callback(err, address, family);
        return;
      }
      const answers = typeof address === 'string' ? [address] : address.map((a) => a.address);
      for (const ip of answers) {
        const range = addressRange(ip);
        if (range !== undefined) {
          callback(
            blocked(`Refused ${hostname}: it resolved to ${ip}, a ${range} address (blockPrivateIps).`),
            '',
          );
          return;
        }
      }
      callback(null, address, family);
    });
  };
}

/**
 * Re-checks a connected socket's peer address; destroys the socket and throws when it is
 * private (or unknown: a destroyed socket has no `remoteAddress`, and the guard fails closed).
 * Defence in depth behind {@link guardedLookup}; call it from the connector before first use.
 * Does nothing when `blockPrivateIps` is false.
 * @throws BulwarkError `BLOCKED_DESTINATION`
 */
export function checkConnectedSocket(socket: Socket, options: DestinationGuardOptions = {}): void {
  if (options.blockPrivateIps === false) return;
  const ip = socket.remoteAddress;
  const range = ip === undefined ? 'unknown' : addressRange(ip);
  if (range === undefined) return;
  socket.destroy();
  throw blocked(`Refused connection to ${ip ?? 'an unknown peer'}: ${range} address (blockPrivateIps).`);
}
