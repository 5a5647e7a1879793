/**
 * Testing with record/replay cassettes: record real exchanges once (redacted: no
 * authorization, no cookies, no secret fields), commit the JSON file, and replay it offline in
 * every later run. Here the "real" API is a local server that is stopped before the replay.
 *
 * In a project: `cassette('github-repos')` with the default mode 'auto' records into
 * test/cassettes/github-repos.json the first time and replays it afterwards; with
 * BULWARK_TEST_MODE=1 (CI) a missing cassette fails instead of going to the network.
 *
 * Run: npx tsx examples/testing-cassette.ts
 * In your project, import from 'bulwark' and 'bulwark/testing' instead of '../src/...'.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createClient } from '../src/index.js';
import { cassette } from '../src/testing/index.js';

const TOKEN = 'ghp_realTokenThatMustNotLeak';
let dir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bulwark-example-'));
  const server = createServer((req, res) => {
    const body = JSON.stringify({ full_name: req.url?.slice('/repos/'.length), stargazers_count: 42 });
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'session=s3cr3t' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  stopServer = () => new Promise((resolve) => server.close(() => resolve()));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The code under test. */
async function stars(client: ReturnType<typeof createClient>, owner: string, repo: string): Promise<number> {
  const res = await client.get('/repos/:owner/:repo', { params: { owner, repo } });
  return (await res.json<{ stargazers_count: number }>()).stargazers_count;
}

test('record: real exchanges are written, redacted, when the client closes', async () => {
  const github = createClient({
    baseUrl,
    headers: { authorization: `Bearer ${TOKEN}` },
    transport: cassette('github-repos', { dir, mode: 'record' }),
  });
  assert.equal(await stars(github, 'nodejs', 'undici'), 42);
  await github.close();
  const file = await readFile(join(dir, 'github-repos.json'), 'utf8');
  assert.ok(!file.includes(TOKEN) && !file.includes('s3cr3t'), 'no credential or cookie in the cassette');
  console.log(`recorded ${String(JSON.parse(file).interactions.length)} interaction(s)`);
});

test('replay: the same calls answer offline, with the server stopped', async () => {
  await stopServer();
  const github = createClient({
    baseUrl,
    headers: { authorization: `Bearer ${TOKEN}` },
    transport: cassette('github-repos', { dir, mode: 'replay' }),
    // A miss fails with NETWORK (nothing sent), which retries would only repeat.
    retry: false,
  });
  assert.equal(await stars(github, 'nodejs', 'undici'), 42);
  // A call that was never recorded fails clearly instead of reaching the network.
  await assert.rejects(
    stars(github, 'nodejs', 'node'),
    /Cassette "github-repos".*GET .*\/repos\/nodejs\/node/,
  );
  await github.close();
  console.log('replayed offline');
});
