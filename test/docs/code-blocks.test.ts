/**
 * Every TypeScript block of README.md and docs/*.md compiles against the package's public entry
 * points, in one compiler program (a block not meant to compile is fenced ```ts nocompile).
 * The preamble declares the placeholder names the guides use for what the reader already has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkBlocks, extractBlocks, markdownFiles } from './code-blocks.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Names the guides use without defining them: the reader's own clients, data and helpers. */
const PREAMBLE = `
type Client = import('bulwark').Client;
declare const api: Client;
declare const client: Client;
declare const github: Client;
declare const stripe: Client;
declare const users: Client;
declare const billing: Client;
declare const payments: Client;
declare const catalogue: Client;
declare const gateway: Client;
declare const shop: Client;
declare const mock: import('bulwark/testing').MockTransport;
declare const clock: import('bulwark/testing').VirtualClock;
declare const baseUrl: string;
declare const origin: string;
declare const id: string;
declare const key: string;
declare const sku: string;
declare const body: unknown;
declare const order: unknown;
declare const charge: { amount: number; currency: string };
declare const logger: import('pino').Logger;
declare const server: import('node:http').Server;
declare const metrics: {
  observe(client: string, status: number | undefined, attempts: number | undefined): void;
  count(name: string): void;
  increment(name: string): void;
};
interface User {
  id: string;
  name: string;
}
declare function useFallback(): unknown;
declare function cached(retryAfterMs?: number): unknown;
declare function tooSlow(timeoutMs?: number): unknown;
declare function queueForLater(what: unknown, retryAfterMs?: number): unknown;
declare function retryIn(ms: number): unknown;
declare function slowDown(ms: number): unknown;
declare function declined(reason: unknown): unknown;
declare function report(error: unknown): void;
declare function lastKnownPrice(sku: string): number;
declare function listOpenIssues(client: Client, owner: string, repo: string): Promise<unknown[]>;
declare function required(name: string): string;
`;

test('every TypeScript block of README.md and docs/ compiles against the public API', () => {
  const blocks = markdownFiles(root).flatMap((file) =>
    extractBlocks(file, readFileSync(join(root, file), 'utf8')),
  );
  assert.ok(blocks.length >= 40, `found ${blocks.length} blocks: the extraction is broken`);
  const diagnostics = checkBlocks(root, blocks, PREAMBLE);
  assert.deepEqual(
    diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`),
    [],
    'blocks that do not compile',
  );
});

test('the extraction finds ts blocks, skips nocompile and other languages, and maps lines back', () => {
  const md = [
    '# Title',
    '```ts',
    'const a: number = 1;',
    '```',
    '```ts nocompile',
    'this is not TypeScript',
    '```',
    '```sh',
    'npm i bulwark',
    '```',
    '  ```typescript',
    '  const b = a;',
    '  ```',
  ].join('\n');
  const blocks = extractBlocks('x.md', md);
  assert.deepEqual(
    blocks.map((b) => [b.line, b.code]),
    [
      [3, 'const a: number = 1;'],
      [12, '  const b = a;'],
    ],
  );
  const diagnostics = checkBlocks(root, [{ file: 'x.md', line: 3, code: 'const a: number = "one";' }], '');
  assert.equal(diagnostics.length, 1);
  const [only] = diagnostics;
  assert.ok(only !== undefined);
  assert.equal(only.file, 'x.md');
  assert.equal(only.line, 3);
  assert.match(only.message, /not assignable to type 'number'/);
});
