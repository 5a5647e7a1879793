import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { connect, type LookupFunction, type Socket } from 'node:net';
import fc from 'fast-check';
import { buildConnector, Pool } from 'undici';
import { isBulwarkError } from '../../src/errors.js';
import {
  checkConnectedSocket,
  checkDestinationUrl,
  guardedLookup,
  hostAllowed,
  isPrivateAddress,
  validateHostPatterns,
} from '../../src/transport/destination-guard.js';
import { addressRange } from '../../src/transport/ip.js';
import { countingServer } from '../helpers/hostile-server.js';

const PRIVATE = [
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.0.1', 'private'],
  ['169.254.169.254', 'link-local'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fe80:0:0:0:0:0:0:1', 'link-local'],
  ['0:0:0:0:0:ffff:a00:1', 'private'],
  ['100.64.0.1', 'carrier-grade NAT'],
  ['100.127.255.255', 'carrier-grade NAT'],
  ['0.0.0.0', 'this network'],
  ['0.1.2.3', 'this network'],
  ['::', 'unspecified'],
  ['fc00::1', 'unique-local'],
  ['fdff:ffff::1', 'unique-local'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:a00:1', 'private'],
  ['::FFFF:7F00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:0:a00:1', 'private'],
  ['::127.0.0.1', 'loopback'],
  ['64:ff9b::10.0.0.1', 'private'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b:1::808:808', 'local-use NAT64'],
  ['2002:a00:1::1', 'private'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['192.0.0.192', 'IETF protocol'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.1', 'documentation'],
  ['203.0.113.1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['192.88.99.1', '6to4 relay'],
  ['2001:db8::1', 'documentation'],
  ['2001::1', 'Teredo'],
  ['100::1', 'discard-only'],
  ['fec0::1', 'site-local'],
  ['4000::1', 'reserved'],
  ['[::1]', 'loopback'],
  ['2130706433', 'loopback'],
  ['0x7f.1', 'loopback'],
  ['0177.0.0.1', 'loopback'],
] as const;

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '172.15.255.255',
  '172.32.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '169.255.0.1',
  '192.169.0.1',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2606:4700:4700:0:0:0:0:1111',
  '2a00:1450:4001::200e',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::8.8.8.8',
  '2002:808:808::1',
];

describe('isPrivateAddress', () => {
  test('every special-purpose range is private, and named', () => {
    for (const [ip, name] of PRIVATE) {
      assert.equal(isPrivateAddress(ip), true, ip);
      assert.ok(addressRange(ip)?.includes(name), `${ip}: ${addressRange(ip) ?? 'public'}`);
    }
  });

  test('public addresses, next to the range edges, are not', () => {
    for (const ip of PUBLIC) assert.equal(isPrivateAddress(ip), false, ip);
  });

  test('text that is not an IP fails closed', () => {
    for (const text of ['example.com', '', '1.2.3.4.5', '256.1.1.1', ':::1', '0x1g']) {
      assert.equal(isPrivateAddress(text), true, text);
    }
  });

  test('property: an IPv4 address is judged the same in every IPv6 wrapper', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        const expected = isPrivateAddress(ip);
        assert.equal(isPrivateAddress(`::ffff:${ip}`), expected);
        assert.equal(isPrivateAddress(`::ffff:${hex}`), expected);
        assert.equal(isPrivateAddress(`64:ff9b::${hex}`), expected);
        assert.equal(isPrivateAddress(`2002:${hex}::1`), expected);
        assert.equal(isPrivateAddress(String(a * 2 ** 24 + (b << 16) + (c << 8) + d)), expected);
      }),
    );
  });
});

describe('hostAllowed', () => {
  const patterns = ['api.example.com', '*.internal.example', '10.0.0.5', '[::1]'];
  test('exact names, case-insensitive, trailing dot ignored', () => {
    assert.equal(hostAllowed('api.example.com', patterns), true);
    assert.equal(hostAllowed('API.Example.COM.', patterns), true);
    assert.equal(hostAllowed('example.com', patterns), false);
    assert.equal(hostAllowed('api.example.com.evil.net', patterns), false);
  });

  test('*.domain matches subdomains at any depth, not the domain or look-alikes', () => {
    assert.equal(hostAllowed('a.internal.example', patterns), true);
    assert.equal(hostAllowed('a.b.internal.example', patterns), true);
    assert.equal(hostAllowed('internal.example', patterns), false);
    assert.equal(hostAllowed('evil-internal.example', patterns), false);
    assert.equal(hostAllowed('.internal.example', ['*.internal.example']), false);
  });

  test('IP literals, bracketed or not, and IDNs in either spelling', () => {
    assert.equal(hostAllowed('10.0.0.5', patterns), true);
    assert.equal(hostAllowed('::1', patterns), true);
    assert.equal(hostAllowed('[::1]', ['::1']), true);
    assert.equal(hostAllowed('xn--bcher-kva.example', ['bücher.example']), true);
    assert.equal(hostAllowed('0x7f.1', ['127.0.0.1']), true);
  });

  test('validateHostPatterns refuses what could never match', () => {
    assert.deepEqual(validateHostPatterns('allowedHosts', ['a.com', '*.b.com', '::1']), [
      'a.com',
      '*.b.com',
      '::1',
    ]);
    for (const bad of ['', '*', '*.', 'a.*.com', 'http://a.com', 'a.com/x', 'a.com:443', 'a b', 42]) {
      assert.throws(
        () => validateHostPatterns('allowedHosts', ['ok.com', bad]),
        (e: unknown) => isBulwarkError(e, 'INVALID_OPTIONS') && e.path === 'allowedHosts[1]',
        String(bad),
      );
    }
    assert.throws(() => validateHostPatterns('allowedHosts', 'a.com'), /expected an array/);
  });
});

describe('checkDestinationUrl', () => {
  test('IP-literal hosts are judged before anything is sent', () => {
    for (const url of [
      'http://127.0.0.1:8080/',
      'http://[::ffff:a00:1]/',
      'http://169.254.169.254/latest/meta-data',
      'http://0x7f.1/',
    ]) {
      assert.throws(
        () => checkDestinationUrl(new URL(url)),
        (e: unknown) => isBulwarkError(e, 'BLOCKED_DESTINATION'),
        url,
      );
    }
    checkDestinationUrl(new URL('http://8.8.8.8/'));
    checkDestinationUrl(new URL('http://localhost/'), {}); // a name: judged by the lookup
    checkDestinationUrl(new URL('http://127.0.0.1/'), { blockPrivateIps: false });
  });

  test('allowedHosts is enforced on the URL host', () => {
    const options = { allowedHosts: ['*.example.com'] };
    checkDestinationUrl(new URL('https://api.example.com/'), options);
    assert.throws(
      () => checkDestinationUrl(new URL('https://example.org/'), options),
      (e: unknown) => isBulwarkError(e, 'BLOCKED_DESTINATION') && /not in allowedHosts/.test(e.message),
    );
  });
});

/** A resolver that answers from a table and records what it was asked. */
function fakeLookup(table: Record<string, string[]>) {
  const calls: { hostname: string; options: LookupOptions }[] = [];
  const lookup = ((hostname: string, options: LookupOptions, cb: (...args: unknown[]) => void) => {
    calls.push({ hostname, options });
    const all = (table[hostname] ?? [])
      .map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 }))
      .filter((a) => options.family === undefined || options.family === 0 || a.family === options.family);
    const first = all[0];
    if (first === undefined) {
      cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      return;
    }
    if (options.all === true) cb(null, all);
    else cb(null, first.address, first.family);
  }) as LookupFunction;
  return { lookup, calls };
}

function resolve(fn: LookupFunction, hostname: string, options: LookupOptions = {}) {
  return new Promise<{ error: unknown; address: unknown; family: unknown }>((done) => {
    fn(hostname, options, (error, address, family) => {
      done({ error, address, family });
    });
  });
}

describe('guardedLookup', () => {
  const table = {
    'rebind.attacker.test': ['127.0.0.1'],
    'mixed.attacker.test': ['93.184.216.34', '10.0.0.1'],
    'public.example': ['93.184.216.34', '2606:2800:220:1::'],
    'mapped.attacker.test': ['::ffff:169.254.169.254'],
  };

  test('a name resolving to 127.0.0.1 is refused with BLOCKED_DESTINATION', async () => {
    const { error } = await resolve(
      guardedLookup({ lookup: fakeLookup(table).lookup }),
      'rebind.attacker.test',
    );
    assert.ok(isBulwarkError(error, 'BLOCKED_DESTINATION'));
    assert.match(error.message, /rebind\.attacker\.test: it resolved to 127\.0\.0\.1, a loopback/);
  });

  test('all: true — one private address refuses the whole answer', async () => {
    const { lookup } = fakeLookup(table);
    const guarded = guardedLookup({ lookup });
    assert.ok(
      isBulwarkError(
        (await resolve(guarded, 'mixed.attacker.test', { all: true })).error,
        'BLOCKED_DESTINATION',
      ),
    );
    assert.ok(
      isBulwarkError(
        (await resolve(guarded, 'mapped.attacker.test', { all: true })).error,
        'BLOCKED_DESTINATION',
      ),
    );
  });

  test('public answers pass through unchanged, with the family options forwarded', async () => {
    const { lookup, calls } = fakeLookup(table);
    const guarded = guardedLookup({ lookup });
    assert.deepEqual(await resolve(guarded, 'public.example', { family: 6 }), {
      error: null,
      address: '2606:2800:220:1::',
      family: 6,
    });
    const all = await resolve(guarded, 'public.example', { all: true });
    assert.equal((all.address as LookupAddress[]).length, 2);
    assert.deepEqual(
      calls.map((c) => c.options),
      [{ family: 6 }, { all: true }],
    );
  });

  test('the dns.lookup call forms (hostname, cb) and (hostname, family, cb) work', async () => {
    const guarded = guardedLookup({ lookup: fakeLookup(table).lookup }) as unknown as (
      ...args: unknown[]
    ) => void;
    const twoArgs = await new Promise<unknown>((done) => guarded('rebind.attacker.test', done));
    assert.ok(isBulwarkError(twoArgs, 'BLOCKED_DESTINATION'));
    const withFamily = await new Promise<unknown[]>((done) =>
      guarded('public.example', 4, (...args: unknown[]) => done(args)),
    );
    assert.deepEqual(withFamily, [null, '93.184.216.34', 4]);
    assert.throws(() => guarded('public.example', {}), /callback is required/);
  });

  test('allowedHosts refuses before any DNS query', async () => {
    const { lookup, calls } = fakeLookup(table);
    const { error } = await resolve(
      guardedLookup({ lookup, allowedHosts: ['*.example'] }),
      'rebind.attacker.test',
    );
    assert.ok(isBulwarkError(error, 'BLOCKED_DESTINATION'));
    assert.equal(calls.length, 0);
    assert.equal(
      (await resolve(guardedLookup({ lookup, allowedHosts: ['*.example'] }), 'public.example')).error,
      null,
    );
  });

  test('resolver errors pass through; blockPrivateIps: false lets private answers through', async () => {
    const { lookup } = fakeLookup(table);
    const missing = await resolve(guardedLookup({ lookup }), 'nowhere.test');
    assert.equal((missing.error as { code?: string }).code, 'ENOTFOUND');
    const open = await resolve(guardedLookup({ lookup, blockPrivateIps: false }), 'rebind.attacker.test');
    assert.deepEqual(open, { error: null, address: '127.0.0.1', family: 4 });
  });

  test('a real net.connect to localhost is refused before connecting', async () => {
    const server = await countingServer();
    try {
      const socket = connect({ host: 'localhost', port: server.port, lookup: guardedLookup() });
      const [error] = (await once(socket, 'error').catch((e: unknown) => [e])) as [unknown];
      assert.ok(isBulwarkError(error, 'BLOCKED_DESTINATION'), String(error));
      assert.equal(server.connections, 0, 'no TCP connection was made');
    } finally {
      await server.close();
    }
  });

  test('an undici Pool with connect.lookup rejects with the guard error itself', async () => {
    const server = await countingServer();
    const pool = new Pool(`http://localhost:${server.port}`, { connect: { lookup: guardedLookup() } });
    try {
      await assert.rejects(pool.request({ path: '/', method: 'GET' }), (e: unknown) =>
        isBulwarkError(e, 'BLOCKED_DESTINATION'),
      );
      assert.equal(server.requests, 0);
    } finally {
      await pool.close();
      await server.close();
    }
  });
});

describe('checkConnectedSocket', () => {
  test('an IP literal skips lookup; the connected peer is re-checked and the socket destroyed', async () => {
    const server = await countingServer();
    let lookups = 0;
    const counting = guardedLookup({
      lookup: ((h: string, o: LookupOptions, cb: (...a: unknown[]) => void) => {
        lookups++;
        cb(null, '8.8.8.8', 4);
      }) as LookupFunction,
    });
    try {
      const socket: Socket = connect({ host: '127.0.0.1', port: server.port, lookup: counting });
      await once(socket, 'connect');
      assert.equal(lookups, 0, 'net.connect does not call lookup for an IP literal');
      assert.throws(
        () => checkConnectedSocket(socket),
        (e: unknown) => isBulwarkError(e, 'BLOCKED_DESTINATION'),
      );
      assert.equal(socket.destroyed, true);
      let destroyed = false;
      const noPeer = { remoteAddress: undefined, destroy: () => (destroyed = true) } as unknown as Socket;
      assert.throws(
        () => checkConnectedSocket(noPeer),
        /unknown peer/,
        'a socket without a peer fails closed',
      );
      assert.equal(destroyed, true);
    } finally {
      await server.close();
    }
  });

  test('public peers and blockPrivateIps: false pass', () => {
    checkConnectedSocket({ remoteAddress: '8.8.8.8' } as unknown as Socket);
    checkConnectedSocket({ remoteAddress: '127.0.0.1' } as unknown as Socket, { blockPrivateIps: false });
  });

  test('an undici connector that checks the socket refuses an IP-literal origin', async () => {
    const server = await countingServer();
    const base = buildConnector({});
    const pool = new Pool(server.url, {
      connect: (options, callback) => {
        base(options, (error, socket) => {
          if (error !== null) {
            callback(error, null);
            return;
          }
          try {
            checkConnectedSocket(socket);
            callback(null, socket);
          } catch (e) {
            callback(e as Error, null);
          }
        });
      },
    });
    try {
      await assert.rejects(pool.request({ path: '/', method: 'GET' }), (e: unknown) =>
        isBulwarkError(e, 'BLOCKED_DESTINATION'),
      );
      assert.equal(server.requests, 0, 'no request reached the server');
    } finally {
      await pool.close();
      await server.close();
    }
  });
});
