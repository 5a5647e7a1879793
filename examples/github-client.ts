/**
 * A per-service client for a GitHub-like API: path params, query strings, and the 5000
 * requests/hour quota enforced locally (and slowed further by the server's X-RateLimit hints).
 *
 * Run: npx tsx examples/github-client.ts
 * In your project, import from 'bulwark' instead of '../src/index.js'.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '../src/index.js';

// A fake API that answers /repos/:owner/:repo and reports its quota like GitHub does.
let remaining = 5_000;
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = /^\/repos\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  remaining--;
  const quota = {
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
  };
  if (match === null) {
    res.writeHead(404, quota).end();
    return;
  }
  const [, owner = '', repo = ''] = match;
  const body = JSON.stringify({
    full_name: `${decodeURIComponent(owner)}/${decodeURIComponent(repo)}`,
    stargazers_count: 4_200,
    per_page: url.searchParams.get('per_page'),
  });
  res.writeHead(200, { 'content-type': 'application/json', ...quota }).end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;

const github = createClient({
  name: 'github',
  baseUrl,
  headers: {
    authorization: `Bearer ${process.env.GITHUB_TOKEN ?? 'ghp_example'}`,
    accept: 'application/vnd.github+json',
  },
  // The quota belongs to the token: 5000 an hour, waiting up to 5 s for a slot.
  rateLimit: { requests: 5_000, per: 'hour', strategy: 'wait', maxWait: 5_000 },
  circuitBreaker: { failureRatio: 0.5, minimumCalls: 20 },
});

interface Repo {
  full_name: string;
  stargazers_count: number;
}

for (const [owner, repo] of [
  ['nodejs', 'undici'],
  ['nodejs', 'node'],
]) {
  const res = await github.get('/repos/:owner/:repo', {
    params: { owner: owner ?? '', repo: repo ?? '' },
    query: { per_page: 50 },
  });
  const data = await res.json<Repo>();
  const left = String(res.headers['x-ratelimit-remaining']);
  console.log(`${data.full_name}: ${String(data.stargazers_count)} stars (quota left: ${left} of 5000)`);
}

// The local limiter's view of the quota, per origin.
for (const bucket of github.inspect().rateLimit?.keys ?? [])
  console.log(`local bucket ${bucket.key}: ${String(bucket.tokens)} requests left now`);

await github.close();
server.close();
