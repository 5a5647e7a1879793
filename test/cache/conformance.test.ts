/**
 * RFC 9111 / RFC 5861 conformance, data-driven: every case of the table (each following a public
 * case of cache-tests.fyi or http-cache-semantics) runs client-level against a loopback server,
 * on the virtual clock.
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createClient, type BulwarkResponse, type Client } from '../../src/index.js';
import { createVirtualClock, type VirtualClock } from '../../src/testing/index.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { assertCode } from '../helpers/assert-error.js';
import { behaviourCases } from './conformance-behaviour.js';
import { freshnessCases } from './conformance-freshness.js';
import type { ConformanceCase, Expect, Headers, Reply, Step } from './conformance-table.js';

const START = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
const LETTERS = 'ABCDEFGH';
/** What each path answers next: the reply and the clock and path it is written with. */
const pending = new Map<string, { reply: Reply; clock: VirtualClock; base: string; letter: string }>();
let server: TestServer;

before(async () => {
  server = await startServer((req, res) => {
    const next = pending.get(req.url ?? '');
    pending.delete(req.url ?? '');
    if (next === undefined) {
      res.writeHead(500, { 'x-unexpected': 'no reply was planned for this request' });
      res.end('unexpected');
      return;
    }
    answer(res, next.reply, next.clock, next.base, next.letter);
  });
});
after(async () => {
  await server.close();
});

/** `@+N` / `@-N` / `@0`: the HTTP date N seconds from now on the case's clock; `~`: the case's path. */
function value(raw: string, clock: VirtualClock, base: string): string {
  const at = /^@([+-]?\d+)$/.exec(raw);
  if (at !== null) return new Date(clock.now() + Number(at[1]) * 1000).toUTCString();
  return raw.replace(/^~/, base);
}

function headersOf(headers: Headers, clock: VirtualClock, base: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = { date: value('@0', clock, base) };
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === '' && name === 'date') delete out.date;
    else out[name] = Array.isArray(raw) ? raw.map((v) => value(v, clock, base)) : value(raw, clock, base);
  }
  return out;
}

function answer(res: ServerResponse, reply: Reply, clock: VirtualClock, base: string, letter: string): void {
  if (reply === 'hang') return;
  if (reply === 'close') {
    res.socket?.destroy();
    return;
  }
  const status = reply.status ?? 200;
  res.sendDate = false;
  const body = reply.body ?? (status === 204 || status === 304 ? '' : letter);
  res.writeHead(status, { 'content-type': 'text/plain', ...headersOf(reply.headers ?? {}, clock, base) });
  res.end(body);
}

function clientFor(c: ConformanceCase, clock: VirtualClock): Client {
  return createClient({
    baseUrl: server.url,
    clock,
    retry: false,
    circuitBreaker: false,
    timeout:
      c.attemptTimeout === undefined ? false : { attempt: c.attemptTimeout, total: c.attemptTimeout * 5 },
    cache: {
      shared: c.shared === true,
      ...(c.staleIfError === undefined ? {} : { staleIfError: c.staleIfError }),
    },
  });
}

function sentTo(path: string): number {
  return server.received.filter((r) => r.url === path).length;
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

async function send(
  c: ConformanceCase,
  step: Step,
  client: Client,
  clock: VirtualClock,
  path: string,
): Promise<BulwarkResponse> {
  const before = sentTo(path);
  const call = client.request({
    method: step.method ?? 'GET',
    path,
    headers: step.headers ?? {},
    ...(step.mode === undefined ? {} : { cache: step.mode }),
  });
  if (step.reply === 'hang') {
    await until(() => sentTo(path) > before);
    await clock.advance(c.attemptTimeout ?? 0);
  }
  return call;
}

async function runStep(
  c: ConformanceCase,
  index: number,
  client: Client,
  clock: VirtualClock,
  base: string,
): Promise<void> {
  const step = c.steps[index] as Step;
  if (step.advance !== undefined) await clock.advance(step.advance * 1000);
  const path = base + (step.path ?? '');
  const letter = LETTERS[index] ?? 'Z';
  if (step.reply !== undefined) pending.set(path, { reply: step.reply, clock, base, letter });
  const before = sentTo(path);
  const expect = step.expect;
  const where = `${c.follows}, step ${index + 1}`;
  if (expect.error !== undefined) {
    const code = expect.error;
    await assert.rejects(send(c, step, client, clock, path), (error: unknown) => {
      assertCode(error, code);
      return true;
    });
    return;
  }
  const res = await send(c, step, client, clock, path);
  const body = await res.text();
  const sent = sentTo(path) > before;
  check(expect, res, body, sent, letter, where);
  if (expect.conditional !== undefined) {
    const last = server.received.filter((r) => r.url === path).at(-1);
    for (const [name, want] of Object.entries(expect.conditional)) {
      const expected = want === undefined ? undefined : value(want, clock, base);
      assert.equal(last?.headers[name], expected, `${where}: ${name} sent`);
    }
  }
  if (step.background === true) {
    await until(() => sentTo(path) > before);
    await until(() => (client.inspect().cache?.revalidating ?? 0) === 0);
  }
  pending.delete(path);
}

function check(
  expect: Expect,
  res: BulwarkResponse,
  body: string,
  sent: boolean,
  letter: string,
  where: string,
): void {
  if (expect.cache !== undefined) assert.equal(res.cache, expect.cache ?? undefined, `${where}: res.cache`);
  if (expect.status !== undefined) assert.equal(res.status, expect.status, `${where}: status`);
  assert.equal(body, expect.body ?? letter, `${where}: body`);
  const wantSent = expect.sent ?? !(expect.cache === 'hit' || expect.cache === 'stale');
  assert.equal(sent, wantSent, `${where}: ${wantSent ? 'should reach' : 'should not reach'} the server`);
  for (const [name, want] of Object.entries(expect.headers ?? {})) {
    assert.equal(res.headers[name], want, `${where}: header ${name}`);
  }
}

const cases = [...freshnessCases, ...behaviourCases];

describe('HTTP cache conformance (client-level, loopback server, virtual clock)', () => {
  it('covers the ground of the issue: about 150 cases, every listed deviation among them', () => {
    assert.ok(cases.length >= 150, `${cases.length} cases`);
    assert.equal(cases.filter((c) => c.deviation !== undefined).length, 10);
    assert.equal(
      new Set(cases.map((c) => c.follows)).size,
      cases.length,
      'every case names its own public case',
    );
  });

  cases.forEach((c, n) => {
    const note = c.deviation === undefined ? '' : ` [undici 7 deviates: ${c.deviation}]`;
    const reading = c.reading === undefined ? '' : ` [bulwark's reading: ${c.reading}]`;
    it(`${c.follows}${note}${reading}`, async () => {
      const clock = createVirtualClock({ now: START });
      const client = clientFor(c, clock);
      try {
        for (let i = 0; i < c.steps.length; i++) await runStep(c, i, client, clock, `/case/${n}`);
      } finally {
        await client.destroy();
      }
    });
  });
});
