/**
 * `pool.tls` is checked at createClient: a CA, certificate or key that cannot work fails there
 * with INVALID_OPTIONS naming the field (never echoing PEM text), instead of every call failing
 * NETWORK against a healthy upstream. `rejectUnauthorized: false` logs the warning security.md
 * promises, once per client.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createClient, isBulwarkError } from '../../src/index.js';
import { makeLoopbackCertificate, type TestCertificate } from '../chaos/fixtures/tls.js';

let first: TestCertificate | undefined;
let second: TestCertificate | undefined;

before(() => {
  first = makeLoopbackCertificate();
  second = makeLoopbackCertificate();
});

function refused(tls: unknown, path: string, allowed: RegExp, secret?: string): void {
  assert.throws(
    () => createClient({ pool: { tls: tls as never } }),
    (error: unknown) => {
      assert.ok(isBulwarkError(error, 'INVALID_OPTIONS'), String(error));
      assert.equal(error.path, path);
      assert.ok(error.message.includes(`\`${path}\``), error.message);
      assert.match(error.message, allowed);
      if (secret !== undefined) {
        for (const line of secret.split('\n').filter((l) => l.length > 20)) {
          assert.ok(!error.message.includes(line), 'PEM text echoed in the message');
        }
      }
      return true;
    },
  );
}

/** A fake logger that keeps its warn lines. */
function warnings(): { lines: { fields: Record<string, unknown>; message: string }[]; logger: never } {
  const lines: { fields: Record<string, unknown>; message: string }[] = [];
  const noop = (): void => undefined;
  const logger = {
    level: 'info',
    trace: noop,
    debug: noop,
    info: noop,
    warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    error: noop,
    fatal: noop,
    child: () => logger,
  };
  return { lines, logger: logger as never };
}

describe('pool.tls is validated at createClient', () => {
  test('wrong types name the field and what is allowed', () => {
    refused(123, 'pool.tls', /an object of TLS options/);
    refused({ ca: 123 }, 'pool.tls.ca', /a CA certificate: a PEM string or a Buffer/);
    refused({ ca: [] }, 'pool.tls.ca', /a non-empty array/);
    refused({ servername: 42 }, 'pool.tls.servername', /a non-empty string/);
    refused({ servername: '' }, 'pool.tls.servername', /a non-empty string/);
    refused({ rejectUnauthorized: 'no' }, 'pool.tls.rejectUnauthorized', /true or false/);
    refused({ cert: {}, key: 'x' }, 'pool.tls.cert', /a certificate: a PEM string or a Buffer/);
    refused({ ca: 'x', passphrase: 'p' }, 'pool.tls.passphrase', /servername/);
  });

  test('text that is no certificate or key is refused, without echoing it', (t) => {
    if (first === undefined || second === undefined) {
      t.skip('openssl is not installed');
      return;
    }
    refused({ ca: 'not a certificate' }, 'pool.tls.ca', /a CA certificate in PEM/);
    refused({ ca: [first.cert, 'junk'] }, 'pool.tls.ca[1]', /a CA certificate in PEM/);
    refused({ ca: first.key }, 'pool.tls.ca', /a CA certificate in PEM/, first.key);
    refused({ cert: first.cert }, 'pool.tls.key', /both `cert` and `key`/);
    refused({ key: first.key }, 'pool.tls.cert', /both `cert` and `key`/, first.key);
    refused({ cert: first.cert, key: 'garbage' }, 'pool.tls.key', /a private key in PEM form/);
    refused(
      { cert: first.cert, key: second.key },
      'pool.tls.key',
      /the private key of pool.tls.cert/,
      second.key,
    );
  });

  test('good values are accepted: a PEM string, a Buffer, a list, a matching pair', async (t) => {
    if (first === undefined || second === undefined) {
      t.skip('openssl is not installed');
      return;
    }
    const clients = [
      createClient({ pool: { tls: { ca: first.cert, servername: 'localhost' } } }),
      createClient({ pool: { tls: { ca: [first.cert, Buffer.from(second.cert)] } } }),
      createClient({ pool: { tls: { cert: first.cert, key: Buffer.from(first.key) } } }),
    ];
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('rejectUnauthorized: false', () => {
  test('logs one warn line per client, and the call still goes through', async (t) => {
    if (first === undefined) {
      t.skip('openssl is not installed');
      return;
    }
    const server = createServer({ cert: first.cert, key: first.key }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { lines, logger } = warnings();
    const client = createClient({
      name: 'lax',
      baseUrl: url,
      pool: { tls: { rejectUnauthorized: false } },
      logging: { logger, level: 'warn' },
    });
    try {
      assert.equal(lines.length, 1);
      const [line] = lines;
      assert.ok(line !== undefined);
      assert.equal(line.fields.event, 'tls-insecure');
      assert.equal(line.fields.client, 'lax');
      assert.match(line.message, /certificate verification is off.*rejectUnauthorized: false/);
      const res = await client.get('/');
      assert.equal(await res.text(), 'ok');
      assert.equal(lines.length, 1, 'once per client, not per call');
    } finally {
      await client.close();
      server.close();
    }
  });

  test('verification on (the default, or true) warns of nothing', async () => {
    const { lines, logger } = warnings();
    const clients = [
      createClient({ logging: { logger, level: 'warn' } }),
      createClient({ pool: { tls: { rejectUnauthorized: true } }, logging: { logger, level: 'warn' } }),
    ];
    assert.equal(lines.length, 0);
    await Promise.all(clients.map((c) => c.close()));
  });

  test('without a logger it is a Node process warning, given once per process', async () => {
    const seen: Error[] = [];
    const onWarning = (w: Error): void => {
      seen.push(w);
    };
    process.on('warning', onWarning);
    try {
      const a = createClient({ pool: { tls: { rejectUnauthorized: false } } });
      const b = createClient({ pool: { tls: { rejectUnauthorized: false } } });
      await new Promise((resolve) => setImmediate(resolve));
      const ours = seen.filter((w) => (w as { code?: string }).code === 'BULWARK_TLS_INSECURE');
      assert.equal(ours.length, 1);
      assert.match(ours[0]?.message ?? '', /certificate verification is off/);
      await Promise.all([a.close(), b.close()]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
