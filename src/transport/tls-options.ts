/**
 * Checks `pool.tls` at `createClient`. A CA, certificate or key that cannot work would otherwise
 * be found by the first handshake, and every call would fail `NETWORK` and count against a
 * healthy upstream's breaker. Messages name the option and what is wrong, never the PEM text.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { describeValue, invalidOption } from '../errors.js';
import { checkBoolean, checkKeys, checkString, isRecord } from '../validate.js';
import type { TlsOptions } from './undici-transport.js';

const TLS_KEYS = ['ca', 'cert', 'key', 'servername', 'rejectUnauthorized'];
const PEM_OR_BYTES = 'a PEM string or a Buffer';

/** Validates `pool.tls`; returns it typed, or throws `INVALID_OPTIONS` naming the field. */
export function validateTlsOptions(value: unknown): TlsOptions | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) throw invalidOption('pool.tls', value, 'an object of TLS options');
  checkKeys('options', 'pool.tls', value, TLS_KEYS);
  checkBoolean('options', 'pool.tls.rejectUnauthorized', value.rejectUnauthorized);
  checkString('options', 'pool.tls.servername', value.servername);
  const ca = value.ca;
  if (ca !== undefined) {
    const list: readonly unknown[] = Array.isArray(ca) ? ca : [ca];
    if (list.length === 0)
      throw invalidOption('pool.tls.ca', ca, `${PEM_OR_BYTES}, or a non-empty array of those`);
    list.forEach((entry, i) => {
      checkCertificate(Array.isArray(ca) ? `pool.tls.ca[${i}]` : 'pool.tls.ca', entry, 'CA certificate');
    });
  }
  const { cert, key } = value;
  if ((cert === undefined) !== (key === undefined)) {
    const missing = cert === undefined ? 'pool.tls.cert' : 'pool.tls.key';
    throw invalidOption(
      missing,
      undefined,
      'a client certificate and its key together (mutual TLS needs both `cert` and `key`)',
    );
  }
  if (cert !== undefined) {
    checkCertificate('pool.tls.cert', cert, 'certificate');
    checkPrivateKey(key);
    try {
      createSecureContext({ cert: cert as string | Buffer, key: key as string | Buffer });
    } catch (error) {
      throw invalidOption(
        'pool.tls.key',
        '[key withheld]',
        `the private key of pool.tls.cert (${reason(error)})`,
      );
    }
  }
  return value;
}

function isPemOrBytes(value: unknown): value is string | Buffer {
  return (typeof value === 'string' && value.length > 0) || (Buffer.isBuffer(value) && value.length > 0);
}

function checkCertificate(path: string, value: unknown, what: string): void {
  if (!isPemOrBytes(value)) throw invalidOption(path, value, `a ${what}: ${PEM_OR_BYTES}`);
  try {
    new X509Certificate(value);
  } catch (error) {
    throw invalidOption(path, shown(value), `a ${what} in PEM (or DER) form (${reason(error)})`);
  }
}

function checkPrivateKey(value: unknown): void {
  if (!isPemOrBytes(value)) throw invalidOption('pool.tls.key', value, `a private key: ${PEM_OR_BYTES}`);
  try {
    createPrivateKey(value);
  } catch (error) {
    // The key itself is never echoed, only what OpenSSL made of it.
    throw invalidOption('pool.tls.key', '[key withheld]', `a private key in PEM form (${reason(error)})`);
  }
}

/** A short description of a PEM value: its kind and size, not its text. */
function shown(value: string | Buffer): string {
  return typeof value === 'string'
    ? `a string of ${value.length} characters`
    : `a Buffer of ${value.length} bytes`;
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : describeValue(error instanceof Error ? error.message : error);
}
