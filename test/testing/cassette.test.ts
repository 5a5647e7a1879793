import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { createClient, type BulwarkError, type ClientOptions, type SafeResult } from '../../src/index.js';
import { cassette, mockTransport, saveCassette, type CassetteFile } from '../../src/testing/index.js';
import type { CircuitSnapshot } from '../../src/policies/circuit-breaker.js';
import { assertCode } from '../helpers/assert-error.js';
import { startServer, json, type TestServer } from '../helpers/http-server.js';

const SECRET = 'sk_live_abcdef0123456789';
const CARD = '4242424242424242';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-cassette-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A client that never retries, so every assertion sees exactly one attempt. */
function clientOf(baseUrl: string, transport: ClientOptions['transport']) {
  return createClient({ baseUrl, transport, retry: false, circuitBreaker: false } as ClientOptions);
}

function errorOf(result: SafeResult): BulwarkError {
  if (result.ok) assert.fail('expected the call to fail');
  return result.error;
}

async function readTape(name: string): Promise<CassetteFile> {
  return JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as CassetteFile;
}

describe('cassette: record against a real server, then replay with it stopped', () => {
  let server: TestServer;
  let counter = 0;
  before(async () => {
    server = await startServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/users/1') {
        json(res, 200, { id: 1, token: SECRET }, { 'set-cookie': 'session=abc123', 'x-trace': 'kept' });
      } else if (url.pathname === '/counter') {
        json(res, 200, { count: ++counter });
      } else if (url.pathname === '/charges') {
        const parsed = JSON.parse(body) as { amount: number };
        json(res, 201, { id: `ch_${String(parsed.amount)}`, amount: parsed.amount });
      } else if (url.pathname === '/gzip') {
        const zipped = gzipSync('compressed hello');
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': zipped.length });
        res.end(zipped);
      } else if (url.pathname === '/binary') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from([0, 1, 2, 255, 254]));
      } else if (url.pathname === '/upload') {
        json(res, 200, { received: body });
      } else {
        json(res, 404, { error: 'not found' });
      }
    });
  });
  after(() => server.close());

  test('records real exchanges, the caller sees the real answer, the file a redacted copy', async () => {
    const tape = cassette('api', { dir, mode: 'record' });
    assert.equal(tape.mode, 'record');
    const client = createClient({
      baseUrl: server.url,
      headers: { authorization: `Bearer ${SECRET}`, cookie: 'session=abc123' },
      transport: tape,
    });
    const user = await client.get('/users/:id', { params: { id: 1 }, query: { api_key: SECRET, page: 2 } });
    assert.deepEqual(await user.json(), { id: 1, token: SECRET });
    assert.equal((await (await client.get('/counter')).json<{ count: number }>()).count, 1);
    assert.equal((await (await client.get('/counter')).json<{ count: number }>()).count, 2);
    const charge = await client.post('/charges', {
      json: { amount: 500, card_number: CARD },
      headers: { 'idempotency-key': 'key-1' },
    });
    assert.equal(charge.status, 201);
    assert.equal(await (await client.get('/gzip')).text(), 'compressed hello');
    assert.deepEqual(
      Buffer.from(await (await client.get('/binary')).arrayBuffer()),
      Buffer.from([0, 1, 2, 255, 254]),
    );
    const upload = await client.post('/upload', { body: Readable.from(['streamed ', 'body']) });
    assert.deepEqual(await upload.json(), { received: 'streamed body' });
    assert.equal(existsSync(join(dir, 'api.json')), false, 'nothing is written before close');
    await client.close();

    const raw = await readFile(join(dir, 'api.json'), 'utf8');
    assert.equal(raw.includes(SECRET), false, 'the secret never reaches the file');
    assert.equal(raw.includes(CARD), false, 'the card number never reaches the file');
    assert.equal(raw.includes('abc123'), false, 'cookies never reach the file');
    const file = JSON.parse(raw) as CassetteFile;
    assert.equal(file.version, 1);
    assert.equal(file.name, 'api');
    assert.equal(file.interactions.length, 7);
    const first = file.interactions[0]!;
    assert.equal(first.request.method, 'GET');
    assert.equal(first.request.url, `${server.url}/users/1?api_key=[REDACTED]&page=2`);
    assert.equal(first.request.headers.authorization, undefined);
    assert.equal(first.request.headers.cookie, undefined);
    assert.equal(first.request.headers['x-request-id'], undefined, 'per-call headers are not written');
    assert.equal(first.response!.headers['set-cookie'], undefined);
    assert.equal(first.response!.headers['x-trace'], 'kept');
    assert.deepEqual(JSON.parse(first.response!.body), { id: 1, token: '[REDACTED]' });
    const charge0 = file.interactions[3]!;
    assert.equal(charge0.request.headers['idempotency-key'], 'key-1');
    assert.deepEqual(JSON.parse(charge0.request.body!), { amount: 500, card_number: '[REDACTED]' });
    const gzip = file.interactions[4]!;
    assert.equal(gzip.response!.body, 'compressed hello', 'bodies are stored decoded');
    assert.equal(gzip.response!.headers['content-encoding'], undefined);
    assert.equal(file.interactions[5]?.response?.bodyEncoding, 'base64');
    assert.equal(file.interactions[6]?.request.body, 'streamed body');
  });

  test('replays offline, in order, matching method, URL and body', async () => {
    await server.close();
    const tape = cassette('api', { dir, mode: 'replay' });
    assert.equal(tape.mode, 'replay');
    assert.equal(tape.interactions.length, 7);
    const client = clientOf(server.url, tape);
    const user = await client.get('/users/1', { query: { api_key: 'another-key', page: 2 } });
    assert.equal(user.status, 200);
    assert.equal(user.headers['x-trace'], 'kept');
    assert.deepEqual(await user.json(), { id: 1, token: '[REDACTED]' });
    assert.equal((await (await client.get('/counter')).json<{ count: number }>()).count, 1);
    assert.equal((await (await client.get('/counter')).json<{ count: number }>()).count, 2);
    const charge = await client.post('/charges', { json: { amount: 500, card_number: CARD } });
    assert.equal(charge.status, 201);
    assert.deepEqual(await charge.json(), { id: 'ch_500', amount: 500 });
    assert.equal(await (await client.get('/gzip')).text(), 'compressed hello');
    assert.deepEqual(
      Buffer.from(await (await client.get('/binary')).arrayBuffer()),
      Buffer.from([0, 1, 2, 255, 254]),
    );
    const upload = await client.post('/upload', { body: Readable.from(['streamed body']) });
    assert.deepEqual(await upload.json(), { received: 'streamed body' });
    await client.close();
  });

  test('an unrecorded request fails with TEST_MODE_BLOCKED naming the request and the cassette, nothing sent', async () => {
    const tape = cassette('api', { dir, mode: 'replay' });
    const client = clientOf(server.url, tape);
    const miss = errorOf(await client.safe.post('/charges', { json: { amount: 999 } }));
    assertCode(miss, 'TEST_MODE_BLOCKED');
    assert.equal(miss.sent, false);
    assert.match(miss.message, /Cassette "api"/);
    assert.match(miss.message, /api\.json/);
    assert.match(miss.message, /POST http:\/\/127\.0\.0\.1:\d+\/charges/);
    assert.match(miss.message, /never recorded/);
    await client.get('/counter');
    await client.get('/counter');
    assert.match(errorOf(await client.safe.get('/counter')).message, /used up/);
    await client.close();

    // With the default retries and breaker: one attempt, no retry of a miss, the circuit stays closed.
    const defaults = createClient({
      baseUrl: server.url,
      transport: cassette('api', { dir, mode: 'replay' }),
    });
    for (let i = 0; i < 6; i++) {
      const again = errorOf(await defaults.safe.get('/not-recorded'));
      assertCode(again, 'TEST_MODE_BLOCKED');
      assert.equal(again.attempts, 1);
    }
    const circuits = defaults.inspect().circuits as CircuitSnapshot[];
    assert.ok(
      circuits.every((c) => c.state === 'closed'),
      JSON.stringify(circuits),
    );
    await defaults.close();
  });

  test('repeat: true replays the last answer once the recorded ones are used up', async () => {
    const client = clientOf(server.url, cassette('api', { dir, mode: 'replay', repeat: true }));
    const counts: number[] = [];
    for (let i = 0; i < 3; i++)
      counts.push((await (await client.get('/counter')).json<{ count: number }>()).count);
    assert.deepEqual(counts, [1, 2, 2]);
    await client.close();
  });

  test('auto replays an existing file and does not rewrite it', async () => {
    const before = await readFile(join(dir, 'api.json'), 'utf8');
    const tape = cassette('api', { dir });
    assert.equal(tape.mode, 'replay');
    const client = clientOf(server.url, tape);
    assert.equal((await client.get('/users/1', { query: { api_key: 'x', page: 2 } })).status, 200);
    await client.close();
    assert.equal(await readFile(join(dir, 'api.json'), 'utf8'), before);
  });
});

describe('cassette: modes, errors and options', () => {
  test('auto records when the file is missing; network errors are recorded and replayed', async () => {
    const server = await startServer((_req, res) => {
      json(res, 200, { ok: true });
    });
    const origin = server.url;
    await server.close();
    const tape = cassette('nested/refused', { dir });
    assert.equal(tape.mode, 'record');
    const recording = clientOf(origin, tape);
    assertCode(errorOf(await recording.safe.get('/health')), 'NETWORK');
    await recording.close();
    const file = await readTape('nested/refused');
    assert.deepEqual(
      { code: file.interactions[0]!.error!.code, sent: file.interactions[0]!.error!.sent },
      { code: 'ECONNREFUSED', sent: false },
    );

    const replay = clientOf(origin, cassette('nested/refused', { dir, mode: 'replay' }));
    const again = errorOf(await replay.safe.get('/health'));
    assertCode(again, 'NETWORK');
    assert.equal((again.cause as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(again.sent, false);
    await replay.close();
  });

  test('records through a given transport and writes on saveCassette', async () => {
    const mock = mockTransport();
    mock.on('GET', '/ping').reply(200, { pong: true });
    const tape = cassette('via-mock', { dir, mode: 'record', transport: mock });
    const client = clientOf('https://api.example.test', tape);
    assert.equal((await client.get('/ping')).status, 200);
    await saveCassette(tape);
    assert.equal((await readTape('via-mock')).interactions[0]?.request.url, 'https://api.example.test/ping');
    assert.equal(mock.calls.length, 1);
    await client.close();
  });

  test('destroy() still writes what completed; a replaying cassette has no pools and writes nothing', async () => {
    const mock = mockTransport();
    mock.on('GET', '/a').reply(200, 'a');
    const tape = cassette('destroyed', { dir, mode: 'record', transport: mock });
    const client = clientOf('https://api.example.test', tape);
    await (await client.get('/a')).text();
    assert.deepEqual(client.inspect().pools, {});
    await client.destroy();
    assert.equal((await readTape('destroyed')).interactions.length, 1);

    const replay = cassette('destroyed', { dir, mode: 'replay' });
    const replaying = clientOf('https://api.example.test', replay);
    assert.equal(await (await replaying.get('/a')).text(), 'a');
    assert.deepEqual(replaying.inspect().pools, {});
    await saveCassette(replay);
    await replaying.destroy();
    assert.equal((await readTape('destroyed')).interactions.length, 1);
  });

  test('a custom redaction list extends the defaults', async () => {
    const mock = mockTransport();
    mock.on('POST', '/orders').reply(200, { merchant_ref: 'M-77', password: 'hunter2' });
    const tape = cassette('custom-redact', {
      dir,
      mode: 'record',
      transport: mock,
      redactor: { bodyFields: ['merchant_ref'] },
    });
    const client = clientOf('https://api.example.test', tape);
    await (await client.post('/orders', { json: { merchant_ref: 'M-77' } })).json();
    await client.close();
    const raw = await readFile(join(dir, 'custom-redact.json'), 'utf8');
    assert.equal(raw.includes('M-77'), false);
    assert.equal(raw.includes('hunter2'), false);
  });

  test('BULWARK_TEST_MODE=1 blocks recording through the default transport', async () => {
    const previous = process.env.BULWARK_TEST_MODE;
    process.env.BULWARK_TEST_MODE = '1';
    let tape;
    try {
      tape = cassette('blocked', { dir });
    } finally {
      if (previous === undefined) delete process.env.BULWARK_TEST_MODE;
      else process.env.BULWARK_TEST_MODE = previous;
    }
    const client = clientOf('http://127.0.0.1:9', tape);
    assertCode(errorOf(await client.safe.get('/x')), 'TEST_MODE_BLOCKED');
    await client.close();
  });

  test("a client's testMode blocks recording through the real network, not replay or a mock", async () => {
    let reached = 0;
    const server = await startServer((_req, res) => {
      reached++;
      json(res, 200, { ok: true });
    });
    try {
      const tape = cassette('blocked-by-client', { dir, mode: 'record' });
      const client = createClient({ baseUrl: server.url, transport: tape, testMode: true, retry: false });
      const blocked = errorOf(await client.safe.get('/x'));
      assertCode(blocked, 'TEST_MODE_BLOCKED');
      assert.equal(reached, 0, 'no request reached the server');
      await client.close();

      // Recording from a mock is not network: test mode leaves it alone.
      const mock = mockTransport();
      mock.on('GET', '/y').reply(200, { from: 'mock' });
      const fromMock = cassette('from-mock', { dir, mode: 'record', transport: mock });
      const recording = createClient({ baseUrl: server.url, transport: fromMock, testMode: true });
      assert.deepEqual(await (await recording.get('/y')).json(), { from: 'mock' });
      await recording.close();

      // And the tape it wrote replays under test mode.
      const replay = createClient({
        baseUrl: server.url,
        transport: cassette('from-mock', { dir }),
        testMode: true,
      });
      assert.deepEqual(await (await replay.get('/y')).json(), { from: 'mock' });
      await replay.close();
      assert.equal(reached, 0);
    } finally {
      await server.close();
    }
  });

  test('replay of a missing or broken file fails at creation', async () => {
    assert.throws(
      () => cassette('missing', { dir, mode: 'replay' }),
      (error: unknown) => {
        assertCode(error, 'INVALID_OPTIONS');
        assert.match(error.message, /no recording at .*missing\.json/);
        return true;
      },
    );
    await writeFile(join(dir, 'broken.json'), '{ not json');
    assert.throws(() => cassette('broken', { dir, mode: 'replay' }), /not valid JSON/);
    await writeFile(join(dir, 'empty.json'), '{}');
    assert.throws(() => cassette('empty', { dir, mode: 'replay' }), /no `interactions` array/);
  });

  test('bad names and options are refused with the option path', () => {
    for (const name of ['', '../escape', 'a/../b', '/abs']) {
      assert.throws(
        () => cassette(name, { dir }),
        (e: unknown) => {
          assertCode(e, 'INVALID_OPTIONS');
          return true;
        },
      );
    }
    assert.throws(() => cassette('x', { dir, mode: 'once' as never }), /cassette\.mode/);
    assert.throws(() => cassette('x', { dir: '' }), /cassette\.dir/);
    assert.throws(() => cassette('x', { dir, mdoe: 'replay' } as never), {
      code: 'INVALID_OPTIONS',
      path: 'cassette.mdoe',
      message: /did you mean `mode`/,
    });
    assert.throws(() => cassette('x', { dir, repeat: 'yes' } as never), { path: 'cassette.repeat' });
    assert.throws(() => cassette('x', { dir, redactor: { bodyField: ['ref'] } as never }), {
      path: 'cassette.redactor.bodyField',
      message: /did you mean `bodyFields`/,
    });
    assert.throws(() => cassette('x', { dir, transport: {} as never }), /cassette\.transport/);
    assert.throws(() => cassette('x', { dir, redactor: 'yes' as never }), /cassette\.redactor/);
  });

  test('a request stream that fails while read fails the call with NETWORK, nothing recorded', async () => {
    const mock = mockTransport();
    const tape = cassette('broken-stream', { dir, mode: 'record', transport: mock });
    const client = clientOf('https://api.example.test', tape);
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk gone'));
      },
    });
    const error = errorOf(await client.safe.post('/upload', { body: failing }));
    assertCode(error, 'NETWORK');
    assert.match(error.message, /disk gone/);
    assert.equal(mock.calls.length, 0);
    await client.close();
    assert.equal((await readTape('broken-stream')).interactions.length, 0);
  });

  test('an aborted attempt is not answered from the tape', async () => {
    const mock = mockTransport();
    mock.on('GET', '/slow').reply(200, 'ok');
    const recording = clientOf(
      'https://api.example.test',
      cassette('abort', { dir, mode: 'record', transport: mock }),
    );
    await (await recording.get('/slow')).text();
    await recording.close();
    const client = clientOf('https://api.example.test', cassette('abort', { dir, mode: 'replay' }));
    const controller = new AbortController();
    controller.abort();
    assertCode(errorOf(await client.safe.get('/slow', { signal: controller.signal })), 'ABORTED');
    await client.close();
  });
});
