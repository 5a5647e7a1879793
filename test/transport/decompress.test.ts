import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { isBulwarkError } from '../../src/errors.js';
import {
  contentDecoding,
  decompressBounded,
  decompressBuffer,
  type BoundedDecoder,
} from '../../src/transport/decompress.js';

const MiB = 1024 * 1024;
const ENCODERS = {
  gzip: gzipSync,
  'x-gzip': gzipSync,
  deflate: deflateSync,
  'deflate (raw)': deflateRawSync,
  br: brotliCompressSync,
} as const;
const headerOf = (name: keyof typeof ENCODERS): string => (name === 'deflate (raw)' ? 'deflate' : name);

/** Writes `chunks` into the decoder and collects what comes out, or the error. */
async function run(decoder: BoundedDecoder, chunks: Buffer[]): Promise<{ out: Buffer; error: unknown }> {
  const out: Buffer[] = [];
  decoder.on('data', (c: Buffer) => out.push(c));
  const settled = new Promise<unknown>((resolve) => {
    decoder.on('error', resolve);
    decoder.on('end', () => resolve(undefined));
  });
  for (const chunk of chunks) decoder.write(chunk);
  decoder.end();
  const error = await settled;
  return { out: Buffer.concat(out), error };
}

/** Lets zlib's thread pool and the stream machinery run without a timer. */
async function settle(turns = 50): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('contentDecoding', () => {
  test('reads the header into decoders, last applied first', () => {
    assert.deepEqual(contentDecoding('gzip'), { decode: true, codings: ['gzip'] });
    assert.deepEqual(contentDecoding(' X-GZIP '), { decode: true, codings: ['gzip'] });
    assert.deepEqual(contentDecoding('deflate, br'), { decode: true, codings: ['br', 'deflate'] });
    assert.deepEqual(contentDecoding('identity, gzip'), { decode: true, codings: ['gzip'] });
  });

  test('nothing to decode, unknown codings and long chains pass through, and say why', () => {
    for (const value of [undefined, '', 'identity', ' , ']) {
      assert.deepEqual(contentDecoding(value), { decode: false, reason: 'identity' });
    }
    assert.deepEqual(contentDecoding('gzip, zstd'), {
      decode: false,
      reason: 'unknown-coding',
      coding: 'zstd',
    });
    assert.deepEqual(contentDecoding('__proto__'), {
      decode: false,
      reason: 'unknown-coding',
      coding: '__proto__',
    });
    assert.deepEqual(contentDecoding(Array(6).fill('gzip').join(',')), {
      decode: false,
      reason: 'too-many-codings',
    });
    assert.deepEqual(contentDecoding(Array(5).fill('gzip').join(',')).decode, true);
  });
});

describe('decompressBounded', () => {
  const text = Buffer.from('{"hello":"world"}'.repeat(500));

  for (const [name, encode] of Object.entries(ENCODERS)) {
    test(`decodes ${name}, whole or one byte at a time`, async () => {
      const encoded = encode(text);
      const whole = await run(decompressBounded(headerOf(name as keyof typeof ENCODERS), MiB), [encoded]);
      assert.equal(whole.error, undefined);
      assert.deepEqual(whole.out, text);
      const bytes = [...encoded].map((b) => Buffer.from([b]));
      const dripped = await run(decompressBounded(headerOf(name as keyof typeof ENCODERS), MiB), bytes);
      assert.deepEqual(dripped.out, text);
    });
  }

  test('a chain of codings is undone in reverse order', async () => {
    const encoded = brotliCompressSync(gzipSync(deflateRawSync(text)));
    const decoder = decompressBounded('deflate, gzip, br', MiB);
    const { out, error } = await run(decoder, [encoded.subarray(0, 7), encoded.subarray(7)]);
    assert.equal(error, undefined);
    assert.deepEqual(out, text);
    assert.equal(decoder.decoded, true);
    assert.equal(decoder.bytesOut, text.length);
  });

  test('property: any split of the input gives the same output', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 2000 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom(...(Object.keys(ENCODERS) as (keyof typeof ENCODERS)[])),
        async (data, cuts, name) => {
          const encoded = ENCODERS[name](data);
          const points = [...new Set(cuts.map((c) => c % (encoded.length + 1)))].sort((a, b) => a - b);
          const chunks = [...points, encoded.length].map((end, i) =>
            encoded.subarray(points[i - 1] ?? 0, end),
          );
          const { out, error } = await run(
            decompressBounded(headerOf(name), MiB),
            chunks.filter((c) => c.length > 0),
          );
          assert.equal(error, undefined);
          assert.deepEqual(new Uint8Array(out), data);
        },
      ),
      { numRuns: 60 },
    );
  });

  test('unknown codings pass through untouched, still bounded', async () => {
    const body = Buffer.from('compressed with something else');
    const decoder = decompressBounded('zstd', MiB);
    assert.equal(decoder.decoded, false);
    assert.deepEqual((await run(decoder, [body])).out, body);
    const tooBig = await run(decompressBounded(undefined, 10), [body]);
    assert.ok(isBulwarkError(tooBig.error, 'RESPONSE_TOO_LARGE'));
  });

  test('an empty body decodes to nothing', async () => {
    assert.deepEqual(await run(decompressBounded('gzip', MiB), []), {
      out: Buffer.alloc(0),
      error: undefined,
    });
  });

  test('exactly maxBytes passes; one more byte fails', async () => {
    const data = Buffer.alloc(1000, 7);
    assert.equal((await run(decompressBounded('gzip', 1000), [gzipSync(data)])).error, undefined);
    const over = await run(decompressBounded('gzip', 999), [gzipSync(data)]);
    assert.ok(isBulwarkError(over.error, 'RESPONSE_TOO_LARGE'));
    assert.match((over.error as Error).message, /maxResponseBytes \(999 bytes\) once decoded \(gzip\)/);
  });

  for (const [name, encode] of Object.entries(ENCODERS)) {
    test(`a ${name} bomb (10 MiB of zeros) is stopped near the limit, not inflated`, async () => {
      const bomb = encode(Buffer.alloc(10 * MiB));
      assert.ok(bomb.length < 20_000, `${name} bomb is ${bomb.length} bytes`);
      const decoder = decompressBounded(headerOf(name as keyof typeof ENCODERS), MiB);
      const { out, error } = await run(decoder, [bomb]);
      assert.ok(isBulwarkError(error, 'RESPONSE_TOO_LARGE'));
      assert.ok(out.length <= MiB, 'the consumer never sees more than maxBytes');
      assert.ok(decoder.bytesOut <= MiB + 64 * 1024, `produced ${decoder.bytesOut} bytes`);
    });
  }

  test('a gzip-inside-gzip bomb is stopped too', async () => {
    const decoder = decompressBounded('gzip, gzip', MiB);
    const { error } = await run(decoder, [gzipSync(gzipSync(Buffer.alloc(10 * MiB)))]);
    assert.ok(isBulwarkError(error, 'RESPONSE_TOO_LARGE'));
    assert.ok(decoder.bytesOut <= MiB + 64 * 1024);
  });

  test('an unread body is not inflated ahead of the reader (backpressure)', async () => {
    const decoder = decompressBounded('gzip', 100 * MiB);
    decoder.write(gzipSync(Buffer.alloc(10 * MiB)));
    await settle();
    assert.ok(decoder.bytesOut <= 64 * 1024, `decoded ${decoder.bytesOut} bytes nobody asked for`);
    let read = 0;
    decoder.on('data', (c: Buffer) => (read += c.length));
    decoder.end();
    await once(decoder, 'end');
    assert.equal(read, 10 * MiB);
  });

  test('corrupt and truncated data fail as NETWORK with the zlib error as cause', async () => {
    const corrupt = await run(decompressBounded('gzip', MiB), [Buffer.from('definitely not gzip')]);
    assert.ok(isBulwarkError(corrupt.error, 'NETWORK'));
    assert.match(corrupt.error.message, /could not be decoded \(gzip\)/);
    assert.equal((corrupt.error.cause as { code?: string }).code, 'Z_DATA_ERROR');
    const full = gzipSync(text);
    const truncated = await run(decompressBounded('gzip', MiB), [full.subarray(0, full.length - 10)]);
    assert.ok(isBulwarkError(truncated.error, 'NETWORK'), 'a truncated body never ends successfully');
    const badDeflate = await run(decompressBounded('br, deflate', MiB), [Buffer.from([0x78, 0x9c, 1, 2, 3])]);
    assert.ok(isBulwarkError(badDeflate.error, 'NETWORK'));
  });

  test('destroying the decoder mid-body releases it without an error', async () => {
    const decoder = decompressBounded('gzip', 100 * MiB);
    decoder.write(gzipSync(Buffer.alloc(MiB)));
    decoder.destroy();
    await once(decoder, 'close');
    assert.equal(decoder.destroyed, true);
  });
});

describe('decompressBuffer', () => {
  const text = Buffer.from('buffered body '.repeat(200));

  test('decodes every coding and chains, from one buffer or many chunks', async () => {
    for (const [name, encode] of Object.entries(ENCODERS)) {
      const encoded = encode(text);
      assert.deepEqual(
        await decompressBuffer(encoded, headerOf(name as keyof typeof ENCODERS), MiB),
        text,
        name,
      );
      const parts = [encoded.subarray(0, 3), encoded.subarray(3)];
      assert.deepEqual(
        await decompressBuffer(parts, headerOf(name as keyof typeof ENCODERS), MiB),
        text,
        name,
      );
    }
    assert.deepEqual(await decompressBuffer([gzipSync(brotliCompressSync(text))], 'br, gzip', MiB), text);
  });

  test('identity, unknown and empty bodies come back as they are, bounded', async () => {
    assert.deepEqual(
      await decompressBuffer([Buffer.from('ab'), Buffer.from('c')], undefined, 10),
      Buffer.from('abc'),
    );
    assert.deepEqual(await decompressBuffer([Buffer.from('raw')], 'zstd', 10), Buffer.from('raw'));
    assert.deepEqual(await decompressBuffer([], 'gzip', 10), Buffer.alloc(0));
    await assert.rejects(decompressBuffer([Buffer.alloc(11)], undefined, 10), (e: unknown) =>
      isBulwarkError(e, 'RESPONSE_TOO_LARGE'),
    );
  });

  test('a bomb is refused at maxBytes; exactly maxBytes passes', async () => {
    for (const [name, encode] of Object.entries(ENCODERS)) {
      await assert.rejects(
        decompressBuffer([encode(Buffer.alloc(10 * MiB))], headerOf(name as keyof typeof ENCODERS), MiB),
        (e: unknown) => isBulwarkError(e, 'RESPONSE_TOO_LARGE'),
        name,
      );
    }
    assert.equal((await decompressBuffer([gzipSync(Buffer.alloc(1000))], 'gzip', 1000)).length, 1000);
  });

  test('corrupt data fails as NETWORK', async () => {
    await assert.rejects(decompressBuffer([Buffer.from('nope')], 'br', MiB), (e: unknown) =>
      isBulwarkError(e, 'NETWORK'),
    );
  });
});
